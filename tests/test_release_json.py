"""QEMU's JSON (``-device {...}``, ``-object {...}``, ``-blockdev {...}``) per release,
against measured answers, and cmdxlate's two ways of reading it against each other.

tests/data/json-measured.json holds QEMU's answer for each value of -device, -object,
-blockdev (and fewer of -netdev, -audiodev, -display, -compat) on 5.2, 7.2, 10.0 and
11.1: syntax errors (QEMU's lexer and parser words; 11.1's with line and column),
single quotes, escapes, duplicate keys, nesting, and values QEMU takes. cmdxlate reads
the JSON of all of them, but models the members of -device and -object only: where QEMU
refuses a well-formed -blockdev for what it holds, cmdxlate must accept the line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmdxlate.emit.convert import convert
from cmdxlate.error import CmdxlateError, QemuRefusal
from cmdxlate.oracle.qemu import QemuBinary, run_topology_queries
from cmdxlate.resolver import resolve
from cmdxlate.syntax import qjson
from cmdxlate.syntax.argv import parse_argv

DATA = json.loads((Path(__file__).parent / "data" / "json-measured.json").read_text())
CASES: list[dict[str, Any]] = DATA["cases"]
RELEASES = ("5.2", "7.2", "10.0", "11.1")
JSON_WORDS = ("JSON parse error", "Expecting at most one JSON value",
              "JSON nesting depth limit exceeded")


def ours(argv: list[str], release: str) -> str | None:
    """cmdxlate's error as QEMU would print it (an undecodable byte shown as U+FFFD, as
    the measurement decoded QEMU's stderr), or None."""
    try:
        resolve(parse_argv(argv), release, "x86_64")
    except CmdxlateError as e:
        return e.message.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return None


# Options whose JSON cmdxlate reads but whose members it does not model.
MEMBERS_UNREAD = ("-blockdev", "-netdev", "-audiodev", "-display", "-compat")


def expected(case: dict[str, Any], release: str) -> str | None:
    """The measured answer; None where QEMU refuses a value of MEMBERS_UNREAD for what it
    holds (or, before the release reads it as JSON, as an option string), and not for
    its JSON or for being an option the release lacks."""
    answer: str | None = case["error"][release]
    if (case["argv"][0] in MEMBERS_UNREAD and answer is not None
            and not any(w in answer for w in (*JSON_WORDS, ": invalid option"))):
        return None
    return answer


def test_the_data_covers_every_kind() -> None:
    answers = [c["error"][r] or "" for c in CASES for r in RELEASES]
    texts = " ".join(answers)
    assert len(CASES) >= 500 and any(not c["error"]["11.1"] for c in CASES)
    assert {c["argv"][-2] for c in CASES} == {"-device", "-object", *MEMBERS_UNREAD}
    for part in ("premature EOI", "1:2: JSON parse error, premature end of input",
                 "expected separator in dict", "expected ',' or '}'", "expecting key",
                 "expecting ':'", "missing : in object pair", "duplicate key",
                 "key is not a string in object", "stray '", "invalid keyword 'tru'",
                 "is not a valid Unicode character", "invalid escape sequence in string",
                 "invalid UTF-8 sequence in string", "Expecting at most one JSON value",
                 "JSON nesting depth limit exceeded", "2:7: JSON parse error",
                 "Parameter 'driver' is missing", "is not a valid device model name",
                 "Parameter 'id' is missing", "Invalid qdev ID", "expected: integer",
                 "Parameter 'apic-id' expects uint64"):
        assert part in texts, part


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_json_matches_measured(case: dict[str, Any], release: str) -> None:
    assert ours(case["argv"], release) == expected(case, release)


@pytest.mark.qemu
@pytest.mark.parametrize("release", RELEASES)
def test_qemu_still_answers_so(release: str,
                               qemu_release: Callable[[str, str], QemuBinary]) -> None:
    binary = qemu_release("x86_64", release)
    # 5.2 to 10.x share one reader (10.0 is asked everything): a third of the values
    # keeps 5.2 and 7.2 honest and the suite short.
    cases = CASES if release in ("10.0", "11.1") else CASES[::3]
    answers = run_topology_queries(binary, [c["argv"] for c in cases])
    for case, answer in zip(cases, answers, strict=True):
        measured = case["error"][release]
        first = None if measured is None else measured.split("\n")[0]
        assert answer.startup_error == first, case["argv"]


# ---------------------------------------------------------------- through the pipeline

def test_single_quoted_cpu_device_is_plugged_and_converted() -> None:
    """QEMU takes 'strings' (Python's json does not): the CPU is plugged, and convert
    passes the option through byte for byte."""
    dev = "{'driver':'qemu64-x86_64-cpu','socket-id':0,'core-id':1,'thread-id':0,'id':'c1'}"
    argv = ["-smp", "1,maxcpus=2", "-device", dev]
    for release in ("10.0", "11.1"):
        topo = resolve(parse_argv(argv), release, "x86_64")
        assert [s.plugged for s in topo.slots] == [True, True]
        assert topo.slots[1].device_id == "c1"
    assert dev in convert(parse_argv(argv), resolve(parse_argv(argv), "10.0", "x86_64")).argv()


def test_json_errors_come_in_option_order() -> None:
    """QEMU reads a JSON value in its option loop: after an earlier option's error, before
    a later one's."""
    bad = ["-device", '{"driver":"x","driver":"y"}']
    with pytest.raises(QemuRefusal, match=r"^-device .*: JSON parse error, duplicate key$"):
        resolve(parse_argv([*bad, "-smp", "0x"]), "10.0", "x86_64")
    with pytest.raises(QemuRefusal, match=r"^-smp 0x: "):
        resolve(parse_argv(["-smp", "0x", *bad]), "5.2", "x86_64")


def test_values_as_deep_as_qemu_takes_do_not_crash() -> None:
    """1,000 levels are within QEMU's 1,024: read, and written back as text, without
    running out of Python's stack."""
    deep = "[" * 1000 + "]" * 1000
    dev = '{"driver":"qemu64-x86_64-cpu","socket-id":0,"core-id":1,"thread-id":0,"x":%s}'
    # QEMU refuses the unknown property x, which cmdxlate does not model: what counts here
    # is that the value is read and its text made without a RecursionError.
    topo = resolve(parse_argv(["-smp", "1,maxcpus=2", "-device", dev % deep]), "10.0", "x86_64")
    assert topo.slots[1].plugged
    assert qjson.dumps(qjson.loads('{"x":' + deep + "}")) == '{"x": ' + deep + "}"


def test_a_release_without_json_devices_reads_an_option_string() -> None:
    """5.2 never reads "{...}" after -device as JSON, broken or not."""
    with pytest.raises(QemuRefusal, match=r"'\{\"driver\":\"x\"' is not a valid device model"):
        resolve(parse_argv(["-device", '{"driver":"x"']), "5.2", "x86_64")


# ---------------------------------------------------------------- the two readers

def _answer(read: Callable[[str, str], Any], text: str, reader: str) -> tuple[str, Any]:
    try:
        return "value", read(text, reader)
    except qjson.JsonSyntaxError as e:
        return "error", e.message


# Characters where QEMU's JSON and Python's part: noncharacters, a surrogate escape
# (an undecodable byte), NUL, quotes, backslashes, non-ASCII.
_chars = st.sampled_from(["a", "b", "é", "\ufdd0", "\ufffe", "\udcff", "\udc80", "\x00",
                          "\x1f", '"', "'", "\\", "%", " "])
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                     st.floats(allow_nan=False, allow_infinity=False),
                     st.text(_chars, max_size=4))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(_chars, max_size=2), inner,
                                                 max_size=3)), max_leaves=8)


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    """An object written as json.dumps writes its members (keys from a small alphabet, so
    some repeat), then maybe broken: a piece cut out or repeated, a quote swapped, a
    character inserted."""
    ascii_only = draw(st.booleans())
    pairs = draw(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), _values), max_size=4))
    text = "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v, ensure_ascii=ascii_only)}"
                          for k, v in pairs) + "}"
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 4)))
        piece = draw(st.sampled_from(["", text[i:j] * 2, "'", '"', ",", ":", "}", "]", "[",
                                      "\\u", "\\'", " ", "\n", "x", "\\", "\udcff", "é",
                                      "NaN", "1e5", "\\ud800", "\\ufdd0"]))
        text = text[:i] + piece + text[j:]
    return text


@settings(max_examples=400, deadline=None)
@given(text=json_texts(), reader=st.sampled_from([qjson.TOKENS, qjson.PUSH]))
def test_python_decoder_path_agrees_with_qemu_reader(text: str, reader: str) -> None:
    """loads() takes Python's decoder when it can: same value, or the same refusal."""
    assert _answer(qjson.loads, text, reader) == _answer(qjson.read, text, reader)


def test_values_are_those_of_python_json() -> None:
    text = '{"a": [1, -0, 1.5e3, 99999999999999999999999], "b": "\\u00e9\\ud83d\\ude00"}'
    assert qjson.read(text) == json.loads(text)
    assert qjson.read("{'a':'x\"y','b':'\\''}") == {"a": 'x"y', "b": "'"}


# Measured 2026-11-30 on QEMU 5.2.0, 7.2.22, 10.0.2 and 11.1.3: each option below, then
# "-blockdev {". QEMU either prints the help and exits 0 at once, or reads on and
# refuses the broken JSON.
HELP_AT_ONCE = {
    "5.2": {"-accel help", "-h", "-version"},
    "7.2": {"-M help", "-object help", "-object memory-backend-ram,help", "-accel help",
            "-smp help", "-h", "-version"},
}
HELP_AT_ONCE["10.0"] = HELP_AT_ONCE["11.1"] = HELP_AT_ONCE["7.2"]


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("asks", ["-M help", "-object help", "-object memory-backend-ram,help",
                                  "-accel help", "-device help", "-cpu help", "-h", "-version"])
def test_help_that_exits_at_once_leaves_later_options_unread(asks: str, release: str) -> None:
    try:
        resolve(parse_argv([*asks.split(), "-blockdev", "{"]), release, "x86_64")
    except CmdxlateError as e:
        message = e.message
    assert ("QEMU prints help" in message) == (asks in HELP_AT_ONCE[release]), message
    assert ("JSON parse error" in message) == (asks not in HELP_AT_ONCE[release]), message
