"""Hostile input: a translator people pipe into shells must be boring under attack.

Every command (parse, slots, convert, explain, writeconfig, readconfig, batch;
not verify/probe, which need QEMU) is driven in-process through typer's
``CliRunner`` with ``catch_exceptions=False``, so an exception escaping the
command fails the test with its traceback.  Each run must end either

* with exit 0 and valid output (``--format json``: stdout parses as JSON), or
* with exit 2 and one ``cmdxlate: error: ...`` first line on stderr (for
  ``--format json``: ``{"error": ...}`` on stdout),

and never print "Traceback".  Exit 3 (internal error) is a failure.

Budget: ``CMDXLATE_FUZZ_EXAMPLES`` examples per property (default below, sized
so this file and tests/test_quoting.py stay well under a minute on two cores);
CI runs are derandomized so they test the same inputs every time.  A release
run raises the number and explores fresh random inputs:
``python benchmarks/fuzz_long.py`` (see there).

Open bugs have their own ``xfail(strict=True)`` tests at the end; bugs this file
found that are fixed keep a guard test.  Should a bug make every fuzz run fail,
the strategies leave out its trigger until it is fixed, so the properties stay a
regression guard for everything else; see ``KNOWN_BUG_SIDESTEPS``.

This module holds the budget, the running and checking helpers and the
strategies; the properties are in test_hostile_*.py, by concern.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from cmdxlate.cli.app import app
from cmdxlate.syntax.options import FLAGS, WITH_ARG
from cmdxlate.testing.strategies import FAMILIES, topology_lines

# ---------------------------------------------------------------- budget

_ENV_EXAMPLES = os.environ.get("CMDXLATE_FUZZ_EXAMPLES")
FUZZ_EXAMPLES = int(_ENV_EXAMPLES) if _ENV_EXAMPLES else 100
RELEASE_RUN = _ENV_EXAMPLES is not None

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    # CI: the same inputs every run, nothing read from or written to a database.
    # Release run (CMDXLATE_FUZZ_EXAMPLES set): fresh random inputs.
    derandomize=not RELEASE_RUN,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.large_base_example,
                           HealthCheck.function_scoped_fixture],
)
# Properties that spawn more work per example get a smaller share of the budget.
FUZZ_SMALL = settings(FUZZ, max_examples=max(10, FUZZ_EXAMPLES // 2))

# Wall-clock budgets of the resource-bound cases are measured in benchmarks/run.py limits,
# not asserted here: a test must not fail because the machine is busy.  The tests below
# check what those cases must answer, and bound work by counting (slot_guard).
# Subprocesses get a generous timeout that only turns a hang into a failure.
HANG_GUARD_SECONDS = 120

# Inputs the strategies leave out because they trip a known bug at once (each bug
# has its own strict xfail test), so the properties keep guarding everything else.
# Put the input back into the strategies once the bug's xfail test starts passing.
KNOWN_BUG_SIDESTEPS: dict[str, str] = {}

RUNNER = CliRunner()

# Outcome statistics for the release report (benchmarks/fuzz_long.py).
STATS: Counter[tuple[str, str, str]] = Counter()


def write_stats() -> None:
    """The outcome statistics so far, for benchmarks/fuzz_long.py's report."""
    path = os.environ.get("CMDXLATE_FUZZ_REPORT")
    if path:
        rows = [{"command": c, "format": f, "outcome": o, "count": n}
                for (c, f, o), n in sorted(STATS.items())]
        Path(path).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- running and checking

def invoke(args: list[str]) -> Result:
    return RUNNER.invoke(app, args, catch_exceptions=False)


_NUM = re.compile(r"\d+")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_PATH = re.compile(r"/\S*")


def _message_class(msg: str) -> str:
    """'-smp 1,x=2: Parameter 'smp.x' is unexpected' -> "Parameter '…' is unexpected"."""
    msg = msg.split("\n", 1)[0]
    if msg.startswith("-") and ": " in msg:
        msg = msg.split(": ", 1)[1]  # _named()'s "-option value: " prefix
    msg = _PATH.sub("FILE", _QUOTED.sub("'…'", msg))
    return _NUM.sub("N", msg)[:70]


def check(res: Result, fmt: str, cmd: str) -> str:
    """Assert the run ended boringly; return 'ok' or 'error'."""
    out, err = res.stdout, res.stderr
    assert "Traceback" not in out and "Traceback" not in err, (out + err)[-2000:]
    code = res.exit_code
    if cmd == "batch" and code == 2 and err.startswith("cmdxlate batch:"):
        code = 0  # every record was written; exit 2 says that some line failed
    if code == 0:
        if fmt == "json":
            if cmd == "batch":
                check_jsonl(out)
            else:
                json.loads(out)
        STATS[(cmd, fmt, "exit 0")] += 1
        return "ok"
    assert code == 2, f"exit {code} (3 = internal error)\nstdout: {out[:500]}\nstderr: {err[:500]}"
    if fmt == "json" and out.strip():
        obj = json.loads(out)
        # "error" first; the rest only points at the input (issue: contract, item 2).
        assert isinstance(obj, dict) and list(obj)[0] == "error", out[:500]
        assert set(obj) <= {"error", "kind", "option", "args", "index", "file", "line",
                            "hint", "qemu_hint", "more_errors"}, out[:500]
        assert isinstance(obj["error"], str) and obj["error"]
        STATS[(cmd, fmt, "exit 2: " + _message_class(obj["error"]))] += 1
        return "error"
    first = err.split("\n", 1)[0]
    assert first.startswith("cmdxlate: error:"), err[:500]
    STATS[(cmd, fmt, "exit 2: " + _message_class(first[len("cmdxlate: error: "):]))] += 1
    return "error"


def check_jsonl(text: str) -> list[dict[str, Any]]:
    """batch output: one JSON object per line, none of them an internal error."""
    objs = []
    for line in text.splitlines():
        obj = json.loads(line)
        assert isinstance(obj, dict) and isinstance(obj.pop("input"), str), line[:300]
        assert len(obj) == 1 and set(obj) <= {"argv", "slots", "verify", "error"}, line[:300]
        msg = obj.get("error")
        assert msg is None or not msg.startswith("internal error"), msg
        objs.append(obj)
    return objs


# ---------------------------------------------------------------- strategies

MACHINES = ["pc", "q35", "pc-i440fx-2.12", "pc-i440fx-6.1", "pc-q35-6.1", "pc-q35-8.0",
            "microvm", "isapc", "pseries", "pseries-6.1", "s390-ccw-virtio",
            "s390-ccw-virtio-6.1", "virt", "virt-6.1", "none", "powernv", "pc-q35-99.0"]
BINARIES = ["qemu-system-x86_64", "/usr/bin/qemu-system-i386", "qemu-system-ppc64",
            "qemu-system-s390x", "qemu-system-aarch64", "qemu-system-riscv64",
            "qemu-system-loongarch64", "qemu-kvm", "qemu-system-", "qemu-system-x86_64\0"]
TOPOLOGY_KEYS = ["cpus", "maxcpus", "sockets", "cores", "threads", "dies", "modules",
                 "clusters", "books", "drawers", "type", "driver", "id", "nodeid", "node-id",
                 "socket-id", "die-id", "module-id", "core-id", "thread-id", "memdev", "size",
                 "mem", "src", "dst", "val", "qom-type", "smp.cpus", "smp.maxcpus", "slots",
                 "maxmem", "hmat", "accel", "initiator", "help", "?"]
WORDS = ["node", "cpu", "dist", "hmat-lb", "q35", "pc", "pseries", "qemu64-x86_64-cpu",
         "host-x86_64-cpu", "power9_v2.2-spapr-cpu-core", "memory-backend-ram", "host", "max",
         "on", "off", "kvm", "tcg", "virtio-net-pci", "e1000", "nofoo", "help", "?"]
# Numbers QEMU's parsers see in the wild and from attackers.
HOSTILE_NUMBERS = ["99999999999999999999", "18446744073709551616", "9223372036854775808",
                   "-1", "-0", "+1", "0x10", "0X1f", "0x", "010", "08", "0", "00", "", " 1",
                   "1 ", "1e3", "1.5", "1_0", "\u0663", "\uff11", "4096", "4097", "255", "256",
                   "100000000", "1G", "512M", "0x7fffffffffffffff", "1k", "1P", "-1G",
                   "1.0e999", "1.5e400M", ".5G", "+1G", "0x10M", "1." + "0" * 5000]

numbers = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.integers(0, 9).map(str),
    st.integers(-(2**70), 2**70).flatmap(
        lambda n: st.sampled_from([str(n), hex(n), "0" + oct(n)[2:] if n >= 0 else str(n)])),
)
ROOT = Path(__file__).resolve().parents[1]


def _grammar_terminals() -> dict[str, st.SearchStrategy[str]]:
    """One strategy per terminal of grammar/optstring.lark (TEXT, EQ, SEP; TEXT holds the
    ",," escapes, drawn on their own too as ESC)."""
    from lark import Lark
    from lark.lexer import PatternStr

    grammar = Lark((ROOT / "grammar" / "optstring.lark").read_text(encoding="utf-8"),
                   parser="lalr")
    out: dict[str, st.SearchStrategy[str]] = {}
    for term in grammar.terminals:
        if isinstance(term.pattern, PatternStr):
            out[term.name] = st.just(term.pattern.value)
        else:
            # Lone surrogates only come from `garbage`: an OS argv decodes to \udc80-\udcff.
            out[term.name] = st.from_regex(
                term.pattern.value, fullmatch=True,
                alphabet=st.characters(exclude_categories=["Cs"])).filter(lambda t: len(t) < 12)
    out["ESC"] = st.just(",,")
    return out


TERMINALS = _grammar_terminals()
assert set(TERMINALS) == {"TEXT", "EQ", "SEP", "ESC"}, sorted(TERMINALS)
# TEXT drawn freely, and as the words and numbers QEMU's option strings are made of.
grammar_text = st.one_of(
    TERMINALS["TEXT"],
    st.sampled_from(TOPOLOGY_KEYS + WORDS).filter(bool),
    numbers.filter(lambda s: bool(s) and "," not in s and "=" not in s),
)
grammar_optstring = st.lists(
    st.one_of(grammar_text, TERMINALS["EQ"], TERMINALS["SEP"], TERMINALS["ESC"]), max_size=14,
).map("".join)
key_value_optstring = st.lists(
    st.one_of(st.tuples(st.sampled_from(TOPOLOGY_KEYS), st.one_of(numbers, grammar_text))
              .map("=".join),
              st.sampled_from(WORDS)),
    max_size=6,
).map(",".join)
garbage = st.binary(max_size=24).map(lambda b: b.decode("utf-8", "surrogateescape"))


def _json_value() -> st.SearchStrategy[Any]:
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
    return st.recursive(leaf, lambda kids: st.lists(kids, max_size=3)
                        | st.dictionaries(st.text(max_size=6), kids, max_size=3), max_leaves=8)


json_object = st.dictionaries(
    st.one_of(st.sampled_from(["driver", "id", "qom-type", "size", "socket-id", "core-id",
                               "thread-id", "node-id"]), st.text(max_size=6)),
    st.one_of(_json_value(), st.sampled_from(WORDS), numbers),
    max_size=6,
).map(json.dumps)
unterminated_json = json_object.flatmap(
    lambda s: st.integers(1, max(1, len(s) - 1)).map(lambda n: s[:n]))
DEEP = 100_000
DEEP_VALUES = [
    '{"driver":' + "[" * DEEP,
    '{"a":' * DEEP,
    "[" * DEEP,
    '{"driver":"e1000","id":' + "[" * DEEP + "]" * DEEP + "}",
    '{"qom-type":"memory-backend-ram","id":"m0","size":' + '{"a":' * DEEP + "1" + "}" * DEEP
    + "}",
    "node,cpus=" + "[" * DEEP,
]
values = st.one_of(
    grammar_optstring, key_value_optstring, numbers, garbage, json_object, unterminated_json,
    st.sampled_from(DEEP_VALUES + ['{"driver":', "{", "{}", "[]", "", "a\0b", "\0"]),
)
option_names = st.one_of(
    st.sampled_from(sorted(FLAGS | WITH_ARG)).map(lambda n: "-" + n),
    st.sampled_from(sorted(FLAGS | WITH_ARG)).map(lambda n: "--" + n),
    st.sampled_from(["-smp", "-machine", "-M", "-numa", "-device", "-object", "-m", "-cpu",
                     "-accel", "-enable-kvm", "-readconfig"]),
    st.text(max_size=6).map(lambda s: "-" + s),
)
any_group = st.tuples(option_names, values).map(list)


def _smp() -> st.SearchStrategy[list[str]]:
    pair = st.tuples(st.sampled_from(TOPOLOGY_KEYS[:10] + ["smp.cpus", "foo"]), numbers)
    body = st.lists(pair, max_size=5).map(lambda kv: ",".join(f"{k}={v}" for k, v in kv))
    lead = st.one_of(st.just(""), numbers.map(lambda n: n + ","))
    return st.tuples(st.sampled_from(["-smp", "--smp"]), st.tuples(lead, body).map("".join)
                     ).map(list)


def _nodeid() -> st.SearchStrategy[str]:
    return st.one_of(st.integers(0, 4).map(str), st.integers(0, 4).map(hex),
                     st.integers(0, 8).map(lambda n: "0" + oct(n)[2:]),
                     st.sampled_from(["128", "65536", "99999999999999999999", "-1", "x"]))


def _numa() -> st.SearchStrategy[list[str]]:
    n = st.integers(0, 3).map(str)
    rng = st.one_of(numbers, st.tuples(numbers, numbers).map("-".join),
                    st.sampled_from(["0-4000000000", "0-65535", "0-3", "4-1", "0--1"]))
    node = st.tuples(_nodeid(), st.lists(rng, max_size=3), n).map(
        lambda t: f"node,nodeid={t[0]}" + "".join(f",cpus={c}" for c in t[1])
        + f",memdev=m{t[2]}")
    cpu = st.tuples(n, st.sampled_from(["socket-id", "core-id", "thread-id", "die-id"]),
                    numbers).map(lambda t: f"cpu,node-id={t[0]},{t[1]}={t[2]}")
    dist = st.tuples(n, n, numbers).map(lambda t: f"dist,src={t[0]},dst={t[1]},val={t[2]}")
    return st.tuples(st.just("-numa"), st.one_of(node, cpu, dist, grammar_optstring)).map(list)


def _memory() -> st.SearchStrategy[list[str]]:
    size = st.one_of(st.sampled_from(["128M", "256M", "512M", "1G", "0", "1.5G", "-1M", "8E",
                                      "99999999999999999999M", "1.0e999", "0x10000000",
                                      "1." + "5" * 5000 + "G"]), numbers)
    backend = st.tuples(st.integers(0, 3), size).map(
        lambda t: ["-object", f"memory-backend-ram,id=m{t[0]},size={t[1]}"])
    m = size.map(lambda s: ["-m", s])
    mslots = st.tuples(size, numbers, size).map(
        lambda t: ["-m", f"size={t[0]},slots={t[1]},maxmem={t[2]}"])
    return st.one_of(backend, m, mslots)


def _cpu_device() -> st.SearchStrategy[list[str]]:
    ids = st.tuples(st.integers(0, 9), numbers, numbers, numbers)
    opt = ids.map(lambda t: ["-device", f"qemu64-x86_64-cpu,id=c{t[0]},socket-id={t[1]},"
                             f"core-id={t[2]},thread-id={t[3]}"])
    as_json = ids.map(lambda t: ["-device", json.dumps(
        {"driver": "qemu64-x86_64-cpu", "id": f"c{t[0]}", "socket-id": t[1],
         "core-id": t[2], "thread-id": t[3]})])
    spapr = numbers.map(lambda n: ["-device", f"power9_v2.2-spapr-cpu-core,core-id={n}"])
    return st.one_of(opt, as_json, spapr)


topology_group = st.one_of(
    _smp(), _numa(), _memory(), _cpu_device(),
    st.tuples(st.sampled_from(["-machine", "-M"]),
              st.tuples(st.sampled_from(MACHINES), st.sampled_from(
                  ["", ",hmat=on", ",smp.cpus=4", ",smp.maxcpus=100000000", ",accel=kvm"]))
              .map("".join)).map(list),
    st.tuples(st.just("-cpu"), st.one_of(st.sampled_from(["host", "max", "qemu64", "power9"]),
                                         grammar_text)).map(list),
)


@st.composite
def qemu_lines(draw: Any) -> list[str]:
    """A hostile QEMU command line: topology options and anything else, mixed.

    A third start from a line QEMU accepts (cmdxlate.testing.strategies), so the hostile
    parts also reach the converter and the config writer, not only the parser.
    """
    prefix: list[str] = draw(st.one_of(
        st.just([]), st.just([]),
        st.sampled_from(BINARIES).map(lambda b: [b]),
        st.tuples(st.sampled_from(["FOO=1", "A=b c", "LC_ALL=C"]), st.sampled_from(BINARIES))
        .map(list),
    ))
    base: list[str] = []
    if draw(st.integers(0, 2)) == 0:
        _arch, base = draw(st.sampled_from(sorted(FAMILIES)).flatmap(topology_lines))
    groups = draw(st.lists(st.one_of(topology_group, topology_group, any_group), max_size=9))
    argv = prefix + base + [w for g in groups for w in g]
    if draw(st.booleans()):
        argv += draw(st.lists(st.one_of(values, option_names), max_size=3))
    return argv


# cmdxlate's own --target/--arch, mostly sane, sometimes not.
tool_options = st.tuples(
    st.sampled_from(["10.0"] * 6 + ["7.2"] * 3 + ["7.2.1", "10", "99.0", "", "\udcff"]),
    st.one_of(st.none(), st.none(), st.none(),
              st.sampled_from(["x86_64", "i386", "i686", "ppc64", "s390x", "aarch64", "arm",
                               "riscv64", "loongarch64", "sparc", "", "x86_64\0"]),
              st.text(max_size=5)),
).map(lambda t: ["-t", t[0]] + (["--arch", t[1]] if t[1] is not None else []))

def _readconfig(path: Path) -> Result:
    return invoke(["readconfig", str(path), "--format", "json"])
