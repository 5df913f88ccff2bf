"""Fixed hostile command lines, shared by the hostile tests (which check the answers) and
``benchmarks/run.py limits`` (which times them), so both measure the same inputs.

No hypothesis here: the benchmarks import this in a venv that has only cmdxlate's own
dependencies.
"""

from __future__ import annotations


def numa_distances(nodes: int, repeats: int) -> list[str]:
    """``nodes`` NUMA nodes with a full distance matrix, then one distance ``repeats`` times."""
    argv = ["-machine", "q35", "-smp", str(nodes), "-m", f"{2 * nodes}M"]
    for i in range(nodes):
        argv += ["-object", f"memory-backend-ram,id=m{i},size=2M",
                 "-numa", f"node,nodeid={i},memdev=m{i},cpus={i}"]
    for s in range(nodes):
        for d in range(nodes):
            argv += ["-numa", f"dist,src={s},dst={d},val={10 if s == d else 20}"]
    return argv + ["-numa", "dist,src=0,dst=0,val=10"] * repeats


def big_line() -> list[str]:
    """100,000 arguments shaped like a real (if absurd) libvirt line."""
    argv = ["-machine", "q35", "-smp", "4,maxcpus=8", "-m", "1G"]
    i = 0
    while len(argv) < 100_000:
        argv += ["-device", f"virtio-net-pci,id=net{i},mac=52:54:00:00:00:{i % 256:02x}",
                 "-name", f"guest=g{i}", "-S", f"stray-{i}", "-no-user-config",
                 "-chardev", f"socket,id=c{i},path=/tmp/c{i}"]
        i += 1
    return argv[:100_000]
