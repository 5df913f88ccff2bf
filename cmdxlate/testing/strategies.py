"""Hypothesis strategies for QEMU topology command lines (needs ``hypothesis``).

For your own property tests, e.g. that a management layer computes the same
CPU slots as QEMU::

    from hypothesis import given
    from cmdxlate.testing.strategies import topology_lines

    @given(topology_lines("pc"))
    def test_my_layer(line):
        arch, argv = line
        ...

``valid=True`` lines are ones QEMU accepts (by construction); ``valid=False``
lines draw values freely, so many are rejected, which is what error-path
tests want.
"""

from __future__ import annotations

from hypothesis import strategies as st

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

# Per family: arch, machine names to draw from, extra -smp levels, thread choices.
FAMILIES: dict[str, dict[str, Any]] = {
    "pc": {"arch": "x86_64", "machines": ["pc", "pc-i440fx-6.1", "pc-i440fx-9.0",
                                          "pc-i440fx-2.12"],
           "levels": ["dies", "modules"], "threads": [1, 2], "numa": True},
    "q35": {"arch": "x86_64", "machines": ["q35", "pc-q35-6.1", "pc-q35-8.0", "pc-q35-5.0"],
            "levels": ["dies", "modules"], "threads": [1, 2], "numa": True},
    "pseries": {"arch": "ppc64", "machines": ["pseries", "pseries-6.1", "pseries-8.2"],
                "levels": [], "threads": [1, 2, 4], "numa": True},
    "s390x": {"arch": "s390x", "machines": ["s390-ccw-virtio", "s390-ccw-virtio-8.1",
                                            "s390-ccw-virtio-6.1"],
              "levels": ["books", "drawers"], "threads": [1], "numa": False},
    "loongarch": {"arch": "loongarch64", "machines": ["virt"], "levels": [],
                  "threads": [1, 2], "numa": True},
    "arm-virt": {"arch": "aarch64", "machines": ["virt", "virt-6.1", "virt-7.0",
                                                 "virt,gic-version=2"],
                 "levels": ["clusters"], "threads": [1, 2], "numa": True},
    "riscv": {"arch": "riscv64", "machines": ["virt"], "levels": [], "threads": [1],
              "numa": True, "numa_cpus": False},
    "q35-hmat": {"arch": "x86_64", "machines": ["q35,hmat=on", "pc-q35-9.2,hmat=on"],
                 "levels": [], "threads": [1, 2], "numa": True, "hmat": True},
    "pc-7.2": {"arch": "x86_64", "machines": ["pc", "pc-i440fx-6.1", "pc-q35-7.2", "q35"],
               "levels": ["dies"], "threads": [1, 2], "numa": True, "target": "7.2"},
}

_KEY_ORDER = ("cpus", "maxcpus", "drawers", "books", "sockets", "dies", "modules", "cores",
              "threads")


@st.composite
def smp_values(draw: Any, family: str, valid: bool = True) -> dict[str, int]:
    """A consistent (or, with valid=False, arbitrary) set of -smp keys."""
    fam = FAMILIES[family]
    if not valid:
        keys = draw(st.lists(st.sampled_from(_KEY_ORDER), unique=True, max_size=5))
        return {k: draw(st.integers(0, 12)) for k in keys}
    levels = {"sockets": draw(st.integers(1, 3)), "cores": draw(st.integers(1, 3)),
              "threads": draw(st.sampled_from(fam["threads"]))}
    for lvl in fam["levels"]:
        levels[lvl] = draw(st.integers(1, 2))
    maxcpus = 1
    for v in levels.values():
        maxcpus *= v
    step = levels["threads"] if fam["arch"] == "ppc64" else 1
    cpus = draw(st.integers(1, maxcpus // step)) * step
    values = dict(levels, cpus=cpus, maxcpus=maxcpus)
    # Leave some keys out so that QEMU's defaults are exercised, but keep the
    # line unambiguous enough to stay valid: levels > 1 must stay given.
    out: dict[str, int] = {}
    for k, v in values.items():
        if k in ("cpus", "maxcpus") or v > 1 or draw(st.booleans()):
            out[k] = v
    return out


def smp_text(values: dict[str, int]) -> str:
    return ",".join(f"{k}={values[k]}" for k in _KEY_ORDER if k in values)


@st.composite
def numa_args(draw: Any, maxcpus: int, with_cpus: bool = True, mib: int = 128,
              hmat: bool = False) -> list[str]:
    """Nodes with ``mib`` MiB backends each, some way of mapping CPUs, and with ``hmat``
    initiators and HMAT entries."""
    n = draw(st.integers(1 if hmat else 0, 3))
    initiators = hmat and draw(st.booleans())
    if n == 0:
        return []
    args = ["-m", f"{mib * n}M"]
    for i in range(n):
        args += ["-object", f"memory-backend-ram,id=m{i},size={mib}M"]
    mode = draw(st.sampled_from(["default", "cpus", "cpu-socket"])) if with_cpus else "default"
    for i in range(n):
        node = f"node,nodeid={i},memdev=m{i}"
        if initiators:
            node += f",initiator={draw(st.integers(0, n - 1))}"
        if mode == "cpus":
            picks = draw(st.lists(st.integers(0, maxcpus - 1), unique=True, max_size=3))
            node += "".join(f",cpus={p}" for p in sorted(picks))
        args += ["-numa", node]
    if mode == "cpu-socket":
        args += ["-numa", f"cpu,node-id={draw(st.integers(0, n - 1))},socket-id=0"]
    if hmat:
        args += draw(hmat_args(n))
    return args


@st.composite
def hmat_args(draw: Any, nodes: int) -> list[str]:
    """hmat-lb and hmat-cache entries over ``nodes`` nodes (QEMU refuses many of them)."""
    args: list[str] = []
    node = st.integers(0, max(0, nodes - 1))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["access-latency", "read-latency", "access-bandwidth",
                                     "write-bandwidth"]))
        value = (f"latency={draw(st.sampled_from([0, 1, 10, 100, 70000]))}"
                 if kind.endswith("latency") else
                 f"bandwidth={draw(st.sampled_from(['0', '1M', '2G', '1000']))}")
        args += ["-numa", f"hmat-lb,initiator={draw(node)},target={draw(node)},"
                          f"hierarchy={draw(st.sampled_from(['memory', 'first-level']))},"
                          f"data-type={kind},{value}"]
    for _ in range(draw(st.integers(0, 2))):
        args += ["-numa", f"hmat-cache,node-id={draw(node)},"
                          f"size={draw(st.sampled_from(['1K', '2K', '4K']))},"
                          f"level={draw(st.integers(1, 3))},associativity=direct,"
                          "policy=write-back,line=8"]
    return args


@st.composite
def topology_lines(draw: Any, family: str, valid: bool = True) -> tuple[str, list[str]]:
    """(arch, argv) for one machine family; see FAMILIES for the names."""
    fam = FAMILIES[family]
    machine = draw(st.sampled_from(fam["machines"]))
    values = draw(smp_values(family, valid))
    argv = ["-machine", machine]
    if values or valid:
        argv += ["-smp", smp_text(values)]
    if fam["numa"] and valid:
        maxcpus = values.get("maxcpus", 1)
        if family == "pseries":
            maxcpus = maxcpus // values.get("threads", 1)
        with_cpus = family != "pseries" and fam.get("numa_cpus", True)
        argv += draw(numa_args(max(1, maxcpus), with_cpus=with_cpus,
                               mib=256 if family == "pseries" else 128,
                               hmat=fam.get("hmat", False)))
    return fam["arch"], argv
