"""The hotplug plan (``cmdxlate plan``) carried out on real QEMU: the VM ends with the
line's slots, plugged set, node-ids and CPU order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from test_live import NUMA2, Vm, assert_same_shape, cli

# ---------------------------------------------------------------- plans

# name: (arch, the line, N for --cpus, the reference line for --cpus N)
PLANS: dict[str, tuple[str, list[str], int, list[str]]] = {
    "q35mixed": ("x86_64", ["-M", "q35", "-smp", "3,maxcpus=8,sockets=2,cores=2,threads=2",
                            *NUMA2, "-numa", "cpu,node-id=1,socket-id=0,core-id=0,thread-id=1",
                            "-device", "qemu64-x86_64-cpu,id=late7,socket-id=1,core-id=1,"
                            "thread-id=1",
                            "-device", "qemu64-x86_64-cpu,socket-id=1,core-id=0,thread-id=0"],
                 5, ["-M", "q35", "-smp", "5,maxcpus=8,sockets=2,cores=2,threads=2", *NUMA2,
                     "-numa", "cpu,node-id=1,socket-id=0,core-id=0,thread-id=1"]),
    "pcthreads": ("x86_64", ["-M", "pc", "-m", "256M", "-smp", "5,maxcpus=8,threads=2"],
                  7, ["-M", "pc", "-m", "256M", "-smp", "7,maxcpus=8,threads=2"]),
    "pseries": ("ppc64", ["-M", "pseries", "-smp", "8,maxcpus=16,sockets=2,cores=2,threads=4",
                          *NUMA2, "-device", "power10_v2.0-spapr-cpu-core,id=c12,core-id=12"],
                12, ["-M", "pseries", "-smp", "12,maxcpus=16,sockets=2,cores=2,threads=4",
                     *NUMA2]),
    "s390x": ("s390x", ["-M", "s390-ccw-virtio", "-m", "256M",
                        "-smp", "5,maxcpus=8,drawers=2,books=2,sockets=1",
                        "-device", "qemu-s390x-cpu,core-id=7"],
              6, ["-M", "s390-ccw-virtio", "-m", "256M",
                  "-smp", "6,maxcpus=8,drawers=2,books=2,sockets=1"]),
    "loongarch": ("loongarch64", ["-M", "virt", "-smp", "4,maxcpus=8,sockets=2,cores=2,threads=2",
                                  *NUMA2], 6,
                  ["-M", "virt", "-smp", "6,maxcpus=8,sockets=2,cores=2,threads=2", *NUMA2]),
}
PLAN_CASES = [(name, "10.0") for name in PLANS] + [("q35mixed", "11.1"), ("q35mixed", "7.2")]


def run_plan(vm: Vm, commands: list[dict[str, Any]]) -> None:
    for c in commands:
        vm.cmd(c["execute"], c["arguments"])


@pytest.mark.qemu
@pytest.mark.parametrize(("name", "release"), PLAN_CASES)
def test_plan_rebuilds_the_line(name: str, release: str, start: Callable[..., Vm],
                                machines_for: Callable[..., list[str]]) -> None:
    arch, args, n, args_n = PLANS[name]
    ref = start(release, arch, args)
    opts = ["--target", release, "--arch", arch, *machines_for(release, arch)]
    res = cli("plan", "--format", "json", *opts, "--", *args)
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert plan["argv"][0] == "-S"
    assert all(c["execute"] == "device_add" for c in plan["qmp"])
    qmp = cli("plan", "--format", "qmp", *opts, "--", *args)
    assert [json.loads(line) for line in qmp.stdout.splitlines()] == plan["qmp"]
    vm = start(release, arch, plan["argv"])
    run_plan(vm, plan["qmp"])
    assert_same_shape(ref, vm)
    # --cpus N reaches the VM of -smp cpus=N
    ref.kill()
    ref_n = start(release, arch, args_n)
    res = cli("plan", "--format", "json", "--cpus", str(n), *opts, "--", *args)
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    vm_n = start(release, arch, plan["argv"])
    run_plan(vm_n, plan["qmp"])
    assert_same_shape(ref_n, vm_n)


@pytest.mark.parametrize(("args", "cpus", "message"), [
    (["-M", "q35", "-smp", "2,maxcpus=8"], "0", "--cpus 0: the plan boots 1 CPU, so it cannot "
                                                "have fewer"),
    (["-M", "q35", "-smp", "2,maxcpus=8"], "9", "--cpus 9: more than maxcpus (8)"),
    (["-M", "pseries", "-smp", "4,maxcpus=16,threads=4"], "6",
     "--cpus 6: pseries-10.0 plugs whole cores of 4 threads, so give a multiple of 4"),
    (["-M", "pseries", "-smp", "4,maxcpus=16,threads=4"], "2",
     "--cpus 2: the plan boots 4 CPUs, so it cannot have fewer"),
])
def test_plan_cpus_out_of_range(args: list[str], cpus: str, message: str) -> None:
    res = cli("plan", "--target", "10.0", "--cpus", cpus, "--", *args)
    assert res.exit_code == 2
    assert res.stderr.strip() == f"cmdxlate: error: {message}"
    res = cli("plan", "--format", "json", "--target", "10.0", "--cpus", cpus, "--", *args)
    assert res.exit_code == 2 and json.loads(res.stdout)["error"] == message


def test_plan_leaves_out_device_properties_it_cannot_type() -> None:
    args = ["-M", "q35", "-smp", "1,maxcpus=4",
            "-device", "qemu64-x86_64-cpu,id=c1,socket-id=0,core-id=1,thread-id=0,pmu=off"]
    res = cli("plan", "--format", "json", "--target", "10.0", "--", *args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["qmp"][0]["arguments"] == {
        "driver": "qemu64-x86_64-cpu", "id": "c1", "socket-id": 0, "core-id": 1, "thread-id": 0}
    assert "device_add c1 leaves out pmu (add them by hand)" in res.stderr


def test_plan_text_and_unchanged_line() -> None:
    args = ["-name", "g", "-M", "q35", "-smp", "4,maxcpus=8", "-cpu", "max"]
    res = cli("plan", "--target", "10.0", "--", *args)
    assert res.exit_code == 0, res.output
    assert "device_add driver=max-x86_64-cpu id=vcpu3 socket-id=0 core-id=3 thread-id=0" in (
        res.stdout)
    assert "the VM then has 4 present CPUs" in res.stdout
    plan = json.loads(cli("plan", "--format", "json", "--target", "10.0", "--", *args).stdout)
    assert plan["argv"] == ["-S", "-name", "g", "-M", "q35", "-smp",
                            "cpus=1,maxcpus=8,sockets=1,dies=1,modules=1,cores=8,threads=1",
                            "-cpu", "max"]
    assert [c["arguments"]["id"] for c in plan["qmp"]] == ["vcpu1", "vcpu2", "vcpu3"]


