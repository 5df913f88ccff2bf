"""Shell output must re-split, in a real POSIX shell, to exactly the argv."""

from __future__ import annotations

import json
import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cmdxlate.cli.app import app
from cmdxlate.syntax.shell import quote, split

runner = CliRunner()
# Anything a shell word can hold (no NUL), with the characters that bite.
WORDS = st.text(st.one_of(st.sampled_from(list(" '\"\\$`\n\t*?[]{}~#!;&|<>()=,")),
                          st.characters(blacklist_categories=("Cs",),
                                        blacklist_characters="\0")), max_size=30)


def sh_words(script_words: str) -> list[str]:
    """What /bin/sh makes of ``set -- <words>``."""
    script = "set -- " + script_words + "\nprintf '%s\\0' \"$@\""
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True).stdout
    return out.decode("utf-8").split("\0")[:-1]


@settings(max_examples=150, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=5))
def test_quote_round_trips_through_sh(words: list[str]) -> None:
    quoted = " ".join(quote(w) for w in words)
    assert split(quoted) == words
    assert sh_words(quoted) == words


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(WORDS, WORDS)
def test_convert_shell_output_resplits_in_sh(name: str, prop: str) -> None:
    args = ["-M", "q35", "-smp", "2,maxcpus=4", "-name", name,
            "-device", json.dumps({"driver": "virtio-net-pci", "id": "n0", "x": prop})]
    sh = runner.invoke(app, ["convert", "--", *args], catch_exceptions=False)
    js = runner.invoke(app, ["convert", "--format", "json", "--", *args],
                       catch_exceptions=False)
    assert sh.exit_code == 0 and js.exit_code == 0
    argv = json.loads(js.stdout)
    assert sh_words(sh.stdout) == argv
    assert argv[argv.index("-name") + 1] == name


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",),
                                      blacklist_characters="\0$`"), max_size=15),
                min_size=1, max_size=4))
def test_split_agrees_with_sh_on_double_quoted_words(words: list[str]) -> None:
    """Double-quoted words (no expansions) split as a shell splits them."""
    text = " ".join('"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' for w in words)
    assert split(text) == sh_words(text) == words
