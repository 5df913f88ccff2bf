"""Syntax: option strings (QemuOpts and keyval, against QEMU's own test table) and
command lines, lossless.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_resolver import DATA, ROOT

from cmdxlate.error import CmdxlateError
from cmdxlate.resolver import resolve
from cmdxlate.syntax.argv import parse_argv
from cmdxlate.syntax.optstring import parse_keyval, parse_qemuopts, qemuopts_scan
from cmdxlate.syntax.shell import format_command, read_command_file, split

# ------------------------------------------------------------------ option strings

def _optstring_cases(dialect: str) -> list[dict]:
    data = json.loads((DATA / "optstring-cases.json").read_text())
    return data[dialect]


@pytest.mark.parametrize("case", _optstring_cases("qemuopts"), ids=lambda c: repr(c["input"]))
def test_qemuopts_cases(case: dict) -> None:
    if case.get("list") or (case.get("error") and "duplicate ID" in case.get("note", "")):
        pytest.skip("list-specific rule (fixed key list / ids of other options) not modelled")
    if case.get("error"):
        with pytest.raises(CmdxlateError):
            parse_qemuopts(case["input"], case["implied_key"])
        return
    o = parse_qemuopts(case["input"], case["implied_key"])
    got = {p.key: p.value for p in o.pairs if p.key != "id"}
    assert got == case["result"]
    assert o.render() == case["input"]
    if "id" in case:
        assert o.id == case["id"]


@pytest.mark.parametrize("case", _optstring_cases("keyval"), ids=lambda c: repr(c["input"]))
def test_keyval_cases(case: dict) -> None:
    if any(".0" in k or ".1" in k or ".2" in k for k in [case["input"]]) and (
            "list" in case["input"] or ".0" in case["input"]):
        pytest.skip("keyval list indexes are not used by topology options")
    help_ok = case.get("help_allowed", True)
    if case.get("error"):
        with pytest.raises(CmdxlateError):
            parse_keyval(case["input"], case["implied_key"], help_ok)
        return
    o = parse_keyval(case["input"], case["implied_key"], help_ok)
    flat: dict = {}
    for p in o.pairs:
        flat[p.key] = p.value

    def nest(d: dict) -> dict:
        out: dict = {}
        for k, v in d.items():
            cur = out
            parts = k.split(".")
            for part in parts[:-1]:
                cur = cur.setdefault(part, {})
            cur[parts[-1]] = v
        return out

    assert nest(flat) == case["result"]
    assert o.help == case.get("help", False)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab=,.-01", max_size=20), st.sampled_from([None, "type"]))
def test_grammar_split_equals_reference_scan(text: str, implied: str | None) -> None:
    """The lark grammar's items give the same pairs as a plain QEMU-style scan."""
    got = [(p.key, p.value, p.raw) for p in parse_qemuopts(text, implied).pairs]
    want = [(p.key, p.value, p.raw) for p in qemuopts_scan(text, implied)]
    assert got == want


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(alphabet="ab=,.-\x00\n", max_size=30), st.text(max_size=30)))
def test_split_fast_path_equals_the_grammar(text: str) -> None:
    """Strings without ',,' skip the LALR parser: the split must be the grammar's tree."""
    from cmdxlate.syntax.optstring import grammar_items, split_items

    assert split_items(text) == grammar_items(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab=,.-01 ", max_size=25))
def test_runtime_parser_is_the_grammar_file(text: str) -> None:
    """The parser cmdxlate uses is lark's, built from grammar/optstring.lark itself (the
    package's optstring.lark is a link to it)."""
    import lark

    from cmdxlate.syntax.optstring import grammar_parser

    fresh = _fresh_parser()
    assert _shape(grammar_parser().parse(text)) == _shape(fresh.parse(text))
    assert isinstance(fresh, lark.Lark)


_FRESH: list = []


def _shape(node: object) -> object:
    if hasattr(node, "data"):
        return (str(node.data), [_shape(c) for c in node.children])
    if node is None:
        return None
    return (node.type, str(node))


def _fresh_parser():  # type: ignore[no-untyped-def]
    import lark

    if not _FRESH:
        grammar = (ROOT / "grammar" / "optstring.lark").read_text()
        _FRESH.append(lark.Lark(grammar, parser="lalr", maybe_placeholders=False))
    return _FRESH[0]


# ------------------------------------------------------------------ command lines

def _round_trip_problem(path: Path) -> str | None:
    sc = read_command_file(str(path))
    cl = parse_argv(sc.args, sc.binary, sc.env)
    if cl.to_argv() != sc.args:
        return "argv differs"
    for opt in cl.options:
        if opt.opts is not None and opt.opts.render() != opt.value:
            return f"-{opt.name} {opt.value!r} renders as {opt.opts.render()!r}"
    if split(format_command(sc.env, sc.binary, [o.args() for o in cl.options])) != sc.words():
        return "the formatted file splits into other words"
    return None


@pytest.mark.shared
def test_corpus_round_trips_losslessly(libvirt_corpus: list[Path]) -> None:
    """Every libvirt .args file of ../shared parses and formats back losslessly."""
    problems = {p.name: why for p in libvirt_corpus if (why := _round_trip_problem(p))}
    assert problems == {}


def test_flags_and_values_and_unknown_options() -> None:
    cl = parse_argv(["-S", "-M", "q35", "--smp", "4", "-nodefaults", "-frobnicate", "x",
                     "disk.img"])
    assert [(o.name, o.value) for o in cl.options] == [
        ("S", None), ("machine", "q35"), ("smp", "4"), ("nodefaults", None),
        ("frobnicate", "x"), (None, "disk.img")]
    assert cl.warnings == ["unknown option -frobnicate passed through unchanged"]
    with pytest.raises(CmdxlateError, match="requires an argument"):
        parse_argv(["-smp"])


def test_implied_keys_and_repeats() -> None:
    cl = parse_argv(["-smp", "4", "-numa", "node,cpus=0-1,cpus=4-5", "-device", "foo,id=d0",
                     "-m", "2G", "-machine", "q35,smp.cpus=4",
                     "-device", '{"driver":"virtio-blk-pci","id":"v0"}'])
    smp, numa, dev, mem, mach, jdev = cl.options
    assert smp.opts is not None and smp.opts.get("cpus") == "4"
    assert numa.opts is not None and numa.opts.get("type") == "node"
    assert numa.opts.get_all("cpus") == ["0-1", "4-5"]
    assert dev.get("driver") == "foo" and dev.get("id") == "d0"
    assert mem.get("size") == "2G"
    assert mach.get("type") == "q35" and mach.get("smp.cpus") == "4"
    assert jdev.json == {"driver": "virtio-blk-pci", "id": "v0"} and jdev.get("id") == "v0"


def test_args_file_env_and_binary(tmp_path: Path) -> None:
    f = tmp_path / "x.args"
    f.write_text("LC_ALL=C \\\nPATH=/bin \\\n/usr/bin/qemu-system-i686 \\\n-name guest=a \\\n"
                 "-device '{\"driver\":\"x\"}' \\\n-smp 2\n")
    sc = read_command_file(str(f))
    assert sc.env == ["LC_ALL=C", "PATH=/bin"]
    assert sc.binary == "/usr/bin/qemu-system-i686"
    assert sc.args == ["-name", "guest=a", "-device", '{"driver":"x"}', "-smp", "2"]
    cl = parse_argv(sc.args, sc.binary)
    assert cl.arch == "i686"
    assert resolve(cl).machine.arch == "i386"




@pytest.mark.parametrize(("text", "syntax", "want"), [
    ("0x1p1024", "strtod", "ERANGE"),  # strtod's HUGE_VAL, not Python's OverflowError
    ("0" * 4400 + "1G", "newest", 1 << 30),  # no int() of thousands of digits
    ("1" * 4400, "newest", "ERANGE"),
    ("00x40", "newest", "EINVAL"),  # strtoull(base 16) stops at the x after "00"
    ("00x40", "fixed", "EINVAL"),
    ("1.5e999xK", "fixed", 1024),  # an ERANGE fraction: one more character skipped
    ("0.1e-400k", "fixed", 0),
    ("1.99999999999999999999k", "fixed", 1024),  # a fraction of 1.0 is lost before 8.1
    ("1.99999999999999999999k", "newest", 2048),  # and carried from 8.1
    ("0x" + "0" * 30 + "40", "newest", 64),
])
def test_sizes_where_qemus_c_differs_from_the_obvious(text: str, syntax: str,
                                                      want: int | str) -> None:
    """Checked in review against a C harness of do_strtosz from the 5.2.0, 7.2.0 and
    10.0.2 sources (gcc, x86-64, glibc 2.36); -m 00x40 and the 4400-digit sizes also on
    QEMU 10.0.2."""
    from cmdxlate.syntax.sizes import SizeOutOfRange, c_size

    try:
        got: int | str = c_size(text, 0, syntax)
    except SizeOutOfRange:
        got = "ERANGE"
    except ValueError:
        got = "EINVAL"
    assert got == want
