"""Quoting: shell output must re-split, in a real POSIX shell, to exactly the argv.

Every ``--format shell`` output of convert, fed to a real shell as
``set -- \\`` + the output, then ``printf '%s\\0' "$@"``, gives back the argv
of ``--format json``, byte for byte.  ``shellwords.quote``/``split`` round
trip, and ``split`` agrees with the shell on words a shell can read without
expanding anything.  Runs under ``sh`` and, when installed, ``bash --posix``.

The example budget follows tests/hostile.py (``CMDXLATE_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cmdxlate.cli.app import app
from cmdxlate.error import CmdxlateError
from cmdxlate.syntax import qjson
from cmdxlate.syntax.shell import format_command, quote, split

_ENV_EXAMPLES = os.environ.get("CMDXLATE_FUZZ_EXAMPLES")
EXAMPLES = int(_ENV_EXAMPLES) if _ENV_EXAMPLES else 100
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=_ENV_EXAMPLES is None,
                    database=None, suppress_health_check=[HealthCheck.too_slow,
                                                          HealthCheck.filter_too_much])

SHELLS = [pytest.param(["sh"], id="sh")]
if shutil.which("bash"):
    SHELLS.append(pytest.param(["bash", "--posix"], id="bash-posix"))

runner = CliRunner()


def shell_words(shell: list[str], body: str, cwd: str | None = None) -> list[str]:
    """What the shell makes of ``set -- <body>``: its words, NUL-separated, as str."""
    script = "set -- " + body + "\nif [ $# -gt 0 ]; then printf '%s\\0' \"$@\"; fi\n"
    with tempfile.NamedTemporaryFile("wb", suffix=".sh", delete=False) as f:
        f.write(script.encode("utf-8", "surrogateescape"))
    try:
        proc = subprocess.run([*shell, f.name], capture_output=True, cwd=cwd, timeout=30,
                              check=False, env=dict(os.environ, HOME="/home/nobody"))
    finally:
        os.unlink(f.name)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return proc.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1]


# Anything an argv word can hold (no NUL), with the characters that bite.
BITING = list(" '\"\\$`\n\t\r*?[]{}~#!;&|<>()=,%^") + ["'\\''", "$(id)", "${HOME}", "`id`",
                                                       "\\\n", "\u00e9", "\u202e", "\U0001f600",
                                                       "\x1b[31m", "\x7f"]
arbitrary = st.one_of(
    st.lists(st.one_of(st.sampled_from(BITING),
                       st.characters(exclude_categories=["Cs"], exclude_characters="\0")),
             max_size=20).map("".join),
    st.lists(st.sampled_from(BITING), max_size=8).map("".join),
    # Not UTF-8: what os.fsdecode() makes of arbitrary bytes.
    st.binary(max_size=12).map(lambda b: b.replace(b"\0", b"").decode("utf-8",
                                                                       "surrogateescape")),
)


@pytest.mark.parametrize("shell", SHELLS)
def test_quote_round_trips_through_sh(shell: list[str]) -> None:
    @SETTINGS
    @given(st.lists(arbitrary, min_size=1, max_size=5))
    def run(words: list[str]) -> None:
        quoted = " ".join(quote(w) for w in words)
        assert split(quoted) == words
        assert shell_words(shell, quoted) == words

    run()


@SETTINGS
@given(st.lists(arbitrary, max_size=3), st.one_of(st.none(), arbitrary),
       st.lists(st.lists(arbitrary, min_size=1, max_size=3), max_size=4))
def test_format_command_splits_back(env: list[str], binary: str | None,
                                    groups: list[list[str]]) -> None:
    text = format_command(env, binary, groups)
    want = env + ([binary] if binary is not None else []) + [w for g in groups for w in g]
    assert split(text) == want


def _device(arb: str, as_json: bool, dev_id: str = "n0") -> str:
    """A -device carrying ``arb``: as JSON when asked and QEMU's JSON can hold it (not
    bytes that are no UTF-8, nor lone surrogates), else as an option string."""
    if as_json:
        text = json.dumps({"driver": "virtio-net-pci", "id": dev_id, "x-prop": arb})
        try:
            qjson.read(text)
            return text
        except qjson.JsonSyntaxError:
            pass
    return f"virtio-net-pci,id={dev_id},romfile=" + arb.replace(",", ",,")


@pytest.mark.parametrize("shell", SHELLS)
def test_convert_shell_output_resplits_in_sh(shell: list[str]) -> None:
    @SETTINGS
    @given(name=arbitrary, prop=arbitrary, as_json=st.booleans(),
           binary=st.sampled_from([None, "/usr/bin/qemu-system-x86_64", "qemu-system-x86_64"]))
    def run(name: str, prop: str, as_json: bool, binary: str | None) -> None:
        args = ["-machine", "q35", "-smp", "2,maxcpus=4", "-name", name,
                "-device", _device(prop, as_json)]
        if binary is not None:
            args.insert(0, binary)
        js = runner.invoke(app, ["convert", "--format", "json", "--", *args],
                           catch_exceptions=False)
        assume(js.exit_code == 0)  # e.g. a -name value QEMU's option parser rejects
        sh = runner.invoke(app, ["convert", "--", *args], catch_exceptions=False)
        assert sh.exit_code == 0, sh.stderr
        argv = json.loads(js.stdout)
        out = sh.stdout_bytes.decode("utf-8", "surrogateescape")
        assert out.endswith("\n")
        assert shell_words(shell, "\\\n" + out) == argv
        assert argv[argv.index("-name") + 1] == name
        assert split(out) == argv

    run()


def test_convert_tricky_values_in_sh() -> None:
    """The classic breakers, one line, checked once in every shell."""
    tricky = ["'\\''", "a'b", "$(touch /tmp/cmdxlate-pwned)", "`touch /tmp/cmdxlate-pwned`",
              "line1\nline2", "back\\slash", "trailing\\", " lead and trail ", "", "*", "~",
              "#comment", "a;b", "\u00e9\u202e", "\udcff\udcfe"]
    args = ["-machine", "q35", "-smp", "2,maxcpus=4"]
    for i, t in enumerate(tricky):
        args += ["-name", t, "-device", _device(t, i % 2 == 0, f"n{i}")]
    js = runner.invoke(app, ["convert", "--format", "json", "--", *args],
                       catch_exceptions=False)
    assert js.exit_code == 0, js.stdout
    sh = runner.invoke(app, ["convert", "--", *args], catch_exceptions=False)
    out = sh.stdout_bytes.decode("utf-8", "surrogateescape")
    for shell in (["sh"], ["bash", "--posix"]) if shutil.which("bash") else (["sh"],):
        with tempfile.TemporaryDirectory() as d:
            assert shell_words(shell, "\\\n" + out, cwd=d) == json.loads(js.stdout)
            assert os.listdir(d) == []
    assert not os.path.exists("/tmp/cmdxlate-pwned")


# Words a shell reads without expanding anything: no $, back-quotes, globs, tildes or
# braces unquoted; '#' never starts a word (a comment would end the set -- command).
_UNQUOTED = st.text(st.one_of(
    st.sampled_from(list("abcXYZ019-_=:,./@%+^!]}") + ["\u00e9", "\u4e2d"]),
    st.characters(categories=["L", "N"])), min_size=1, max_size=6)
_ESCAPED = st.characters(exclude_characters="\0\n", exclude_categories=["Cs"]).map(
    lambda c: "\\" + c)
_SINGLE = st.text(st.characters(exclude_characters="\0'", exclude_categories=["Cs"]),
                  max_size=8).map(lambda s: "'" + s + "'")
_DOUBLE_PIECE = st.one_of(
    st.characters(exclude_characters='\0"\\$`', exclude_categories=["Cs"]),
    st.sampled_from(['\\"', "\\\\", "\\$", "\\`", "\\\n", "\\a", "\\'", "'", "#", "*", "~"]),
)
_DOUBLE = st.lists(_DOUBLE_PIECE, max_size=8).map(lambda ps: '"' + "".join(ps) + '"')


@st.composite
def shell_word(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.one_of(_UNQUOTED, _ESCAPED, _SINGLE, _DOUBLE), min_size=1,
                           max_size=4))
    word = "".join(pieces)
    assume(not word.startswith("#"))
    return word


shell_texts = st.tuples(
    st.lists(st.tuples(shell_word(), st.sampled_from([" ", "\t", "  ", " \\\n", "\\\n "])),
             max_size=6),
    st.sampled_from(["", " # trailing comment", "\t#c"]),
).map(lambda t: "".join(w + sep for w, sep in t[0]) + t[1])


@pytest.mark.parametrize("shell", SHELLS)
def test_split_agrees_with_sh(shell: list[str]) -> None:
    @SETTINGS
    @given(shell_texts)
    def run(text: str) -> None:
        assert split(text) == shell_words(shell, text)

    run()


@SETTINGS
@given(st.lists(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0$`"),
                        max_size=15), min_size=1, max_size=4))
def test_split_agrees_with_sh_on_double_quoted_words(words: list[str]) -> None:
    """Double-quoted words (no expansions) split as a shell splits them."""
    text = " ".join('"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' for w in words)
    assert split(text) == shell_words(["sh"], text) == words


@pytest.mark.parametrize("text", ["$HOME", "a$b", '"$x"', "`id`", '"`id`"', "a|b", "a&b",
                                  "a;b", "a>b", "a<b", "(a)", "'open", '"open', "end\\", "~",
                                  "*", "?", "[a]"])
def test_split_refuses_what_needs_a_shell(text: str) -> None:
    with pytest.raises(CmdxlateError):
        split(text)


# ---------------------------------------------------------------- guards for fixed bugs

@pytest.mark.parametrize("text", ["~/vmlinuz", "-kernel ~/vmlinuz", "*.img", "disk?.img",
                                  "[ab].img", "a*", "-drive file=/images/*.qcow2"])
def test_split_refuses_tilde_and_glob(tmp_path: Path, text: str) -> None:
    """A shell would expand these (depending on $HOME and the folder): refuse, don't guess."""
    for name in ("a.img", "disk1.img"):
        (tmp_path / name).write_text("")
    try:
        words = split(text)
    except CmdxlateError:
        return
    assert words == shell_words(["sh"], text, cwd=str(tmp_path))


@pytest.mark.parametrize("text", ["a~b", "x=~", "'~/a'", '"*.img"', "\\*", "a\\?b", "'[x]'"])
def test_split_keeps_quoted_or_inner_tilde_and_glob(text: str) -> None:
    """Quoted pattern characters, and a tilde inside a word, are literal in the shell too."""
    with tempfile.TemporaryDirectory() as d:
        assert split(text) == shell_words(["sh"], text, cwd=d)


@pytest.fixture
def fake_qemu(tmp_path: Path) -> Path:
    """An executable named like QEMU that prints $FOO and its arguments, NUL-separated."""
    fake = tmp_path / "qemu-system-x86_64"
    fake.write_text("#!/bin/sh\nprintf '%s\\0' \"FOO=$FOO\" \"$@\"\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake


def _run_converted(fake: Path, value: str) -> tuple[list[str], list[str]]:
    args = [f"FOO={value}", str(fake), "-smp", "2"]
    js = runner.invoke(app, ["convert", "--format", "json", "--", *args],
                       catch_exceptions=False)
    sh = runner.invoke(app, ["convert", "--", *args], catch_exceptions=False)
    assert js.exit_code == 0 and sh.exit_code == 0, sh.stderr
    proc = subprocess.run(["sh", "-c", sh.stdout_bytes], capture_output=True, timeout=30,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1]
    argv = json.loads(js.stdout)
    assert argv[0] == f"FOO={value}"  # JSON keeps the assignment, as the shell format does
    return out, [f"FOO={value}", *argv[2:]]


@pytest.mark.parametrize("value", ["a b", "x'y", "$(id)", "*", "", "'\\''", "a\nb"])
def test_env_assignment_quoting_runs_in_sh(fake_qemu: Path, value: str) -> None:
    """FOO=<value> before the binary stays an assignment when the shell runs the output."""
    got, want = _run_converted(fake_qemu, value)
    assert got == want


def test_env_assignment_property(fake_qemu: Path) -> None:
    @settings(SETTINGS, max_examples=max(10, EXAMPLES // 4))
    @given(arbitrary)
    def run(value: str) -> None:
        got, want = _run_converted(fake_qemu, value)
        assert got == want

    run()
