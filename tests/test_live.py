"""Live VMs and hotplug plans (issue 14) on real QEMU.

Every VM here is a real QEMU started paused under TCG with two QMP UNIX sockets:
one the test manages the VM through (hot-plug, compare), one cmdxlate reads.
The fixture kills every QEMU it started, by its own process object, and removes
its folder. QEMU 10.0 is /usr/bin/qemu-system-*; QEMU 11.1 runs in its chroot, so
its sockets live inside the root.

Offline tests (plan refusals, option checks) need no QEMU and carry no mark.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from cmdxlate.catalog import Catalog
from cmdxlate.cli.app import app

runner = CliRunner()
ROOTS = {"10.0": "", "11.1": "/opt/cmdxlate-qemu-11.1", "7.2": ""}
PREFIX72 = "/opt/cmdxlate-qemu-7.2"  # an unpacked prefix, x86 only
ANON = "/machine/peripheral-anon/"
NUMA2 = ["-m", "512M", "-object", "memory-backend-ram,id=m0,size=256M",
         "-object", "memory-backend-ram,id=m1,size=256M",
         "-numa", "node,nodeid=0,memdev=m0", "-numa", "node,nodeid=1,memdev=m1"]
# name: (arch, the line the source VM was started with)
BOARDS: dict[str, tuple[str, list[str]]] = {
    "q35numa": ("x86_64", ["-M", "q35", "-smp", "2,maxcpus=8,sockets=2,cores=2,threads=2",
                           *NUMA2]),
    "pcthreads": ("x86_64", ["-M", "pc", "-m", "256M", "-smp", "2,maxcpus=8,threads=2"]),
    "pseries": ("ppc64", ["-M", "pseries", "-smp", "4,maxcpus=16,sockets=2,cores=2,threads=4",
                          *NUMA2]),
    "s390x": ("s390x", ["-M", "s390-ccw-virtio", "-m", "256M",
                        "-smp", "2,maxcpus=8,drawers=2,books=2,sockets=1"]),
    "loongarch": ("loongarch64", ["-M", "virt", "-smp", "2,maxcpus=8,sockets=2,cores=2,threads=2",
                                  *NUMA2]),
}


def modelled(release: str) -> bool:
    return any(str(v) == release for v in Catalog.builtin().targets)


class QmpError(Exception):
    pass


class Vm:
    """A paused QEMU with a management QMP socket (ours) and a second one for cmdxlate."""

    def __init__(self, release: str, arch: str, args: list[str], incoming: bool = False) -> None:
        self.root = ROOTS[release]
        exe = f"/usr/bin/qemu-system-{arch}"
        env = None
        extra: list[str] = []
        if release == "7.2":
            exe = PREFIX72 + exe
            env = dict(os.environ, QEMU_MODULE_DIR=f"{PREFIX72}/usr/lib/x86_64-linux-gnu/qemu")
            extra = ["-L", "/usr/share/seabios", "-L", f"{PREFIX72}/usr/share/qemu"]
        if not os.path.exists(self.root + exe):
            raise FileNotFoundError(self.root + exe)
        self.dir = tempfile.mkdtemp(prefix="lv-", dir=self.root + "/tmp")
        self.inner = self.dir[len(self.root):]
        self.mgmt, self.ro = f"{self.dir}/m.sock", f"{self.dir}/r.sock"
        self.migration = f"unix:{self.inner}/mig.sock"
        argv = [exe, *extra, "-S", "-display", "none", "-nodefaults", "-accel", "tcg",
                "-qmp", f"unix:{self.inner}/m.sock,server=on,wait=off",
                "-qmp", f"unix:{self.inner}/r.sock,server=on,wait=off", *args]
        if incoming:
            argv += ["-incoming", self.migration]
        if self.root:
            argv = ["chroot", self.root, *argv]
        self.err = open(f"{self.dir}/stderr", "w+")  # noqa: SIM115 - closed in kill()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, env=env,
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        self.events: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"QEMU refused {args}: {self.stderr()}")
            if os.path.exists(self.mgmt) and os.path.exists(self.ro):
                with contextlib.suppress(ConnectionRefusedError):
                    self.sock = socket.socket(socket.AF_UNIX)
                    self.sock.settimeout(60)
                    self.sock.connect(self.mgmt)
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("QEMU did not make its QMP sockets")
            time.sleep(0.02)
        self.file = self.sock.makefile("rwb")
        self._reply()
        self.cmd("qmp_capabilities")

    def stderr(self) -> str:
        self.err.seek(0)
        return self.err.read()

    def _reply(self) -> dict[str, Any]:
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError(f"QEMU closed QMP: {self.stderr()}")
            msg: dict[str, Any] = json.loads(line)
            if "event" in msg:
                self.events.append(msg)
            else:
                return msg

    def cmd(self, execute: str, arguments: dict[str, Any] | None = None) -> Any:
        msg: dict[str, Any] = {"execute": execute}
        if arguments is not None:
            msg["arguments"] = arguments
        self.file.write(json.dumps(msg).encode() + b"\n")
        self.file.flush()
        reply = self._reply()
        if "error" in reply:
            raise QmpError(reply["error"]["desc"])
        return reply["return"]

    def cpus(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """query-hotpluggable-cpus and query-cpus-fast (host thread ids left out)."""
        fast = [{k: v for k, v in c.items() if k != "thread-id"}
                for c in self.cmd("query-cpus-fast")]
        return self.cmd("query-hotpluggable-cpus"), fast

    def snapshot(self) -> str:
        """Everything a read could disturb."""
        hp, fast = self.cpus()
        return json.dumps([self.cmd("query-status"), hp, fast,
                           self.cmd("qom-list", {"path": "/machine/peripheral"}),
                           self.cmd("qom-list", {"path": "/machine/peripheral-anon"}),
                           self.cmd("query-migrate"), self.cmd("x-query-numa")], sort_keys=True)

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
        self.proc.wait(timeout=30)
        with contextlib.suppress(OSError):
            self.sock.close()
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def cli(*argv: str) -> Any:
    return runner.invoke(app, list(argv))


_WRAPPER = r"""#!/bin/sh
# QEMU {release} in its root; paths under the root are passed as the root sees them.
for a in "$@"; do
  shift
  set -- "$@" "$(printf '%s' "$a" | sed 's|{root}/|/|g')"
done
exec chroot {root} /usr/bin/qemu-system-{arch} "$@"
"""




def hotplug_out_of_order(vm: Vm) -> list[str | None]:
    """Plug the last free slot (id, node-id), a middle one (no id, no node-id: QEMU fills
    it in), the first (id) and the second (id, node-id). Returns the ids used."""
    slots = list(reversed(vm.cmd("query-hotpluggable-cpus")))
    free = [i for i, e in enumerate(slots) if "qom-path" not in e]
    order = list(dict.fromkeys([free[-1], free[len(free) // 2], free[0], free[1]]))
    ids: list[str | None] = []
    for n, i in enumerate(order):
        args = {"driver": slots[i]["type"], **slots[i]["props"]}
        if n == 1:
            args.pop("node-id", None)
            ids.append(None)
        else:
            args["id"] = f"hot{n}"
            ids.append(args["id"])
        vm.cmd("device_add", args)
    return ids


def _renamed(path: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        if path == old or path.startswith(old + "/"):
            return new + path[len(old):]
    return path


def assert_same_cpus(src: Vm, dst: Vm, anonymous: int = 0) -> None:
    """Both CPU answers equal, qom-paths and query-cpus-fast order included; a CPU that was
    anonymous on the source may only have the id cmdxlate chose on the destination."""
    (hs, fs), (hd, fd) = src.cpus(), dst.cpus()
    names: dict[str, str] = {}
    for a, b in zip(hs, hd, strict=True):
        pa, pb = a.get("qom-path"), b.get("qom-path")
        if pa is not None and pb is not None and pa != pb and pa.startswith(ANON):
            assert pb.startswith("/machine/peripheral/vcpu"), (pa, pb)
            names[pa] = pb
    assert len(names) == anonymous, names
    for e in hs:
        if "qom-path" in e:
            e["qom-path"] = _renamed(e["qom-path"], names)
    for c in fs:
        c["qom-path"] = _renamed(c["qom-path"], names)
    assert hs == hd
    assert fs == fd
    assert [c["cpu-index"] for c in fs] == [c["cpu-index"] for c in fd]


def assert_same_shape(ref: Vm, vm: Vm) -> None:
    """Slots, plugged set, node-ids, cpu-index and query-cpus-fast order; not qom-paths."""
    (hr, fr), (hv, fv) = ref.cpus(), vm.cpus()

    def slots(hp: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["type"], e["vcpus-count"], e["props"], "qom-path" in e) for e in hp]

    def present(fast: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(c["cpu-index"], c["props"]) for c in fast]

    assert slots(hr) == slots(hv)
    assert present(fr) == present(fv)


# ---------------------------------------------------------------- the destination line

DESTINATIONS = [("q35numa", "10.0"), ("pcthreads", "10.0"), ("pseries", "10.0"),
                ("s390x", "10.0"), ("loongarch", "10.0"), ("q35numa", "11.1"),
                ("q35numa", "7.2")]


@pytest.mark.qemu
@pytest.mark.parametrize(("board", "release"), DESTINATIONS)
def test_destination_line_reproduces_the_source(board: str, release: str,
                                                start: Callable[..., Vm],
                                                machines_for: Callable[..., list[str]]) -> None:
    arch, args = BOARDS[board]
    src = start(release, arch, args)
    opts = machines_for(release, arch)
    ids = hotplug_out_of_order(src)
    before = src.snapshot()
    events = len(src.events)
    res = cli("convert", "--format", "json", *opts, "--qmp", src.ro, "--", *args)
    assert res.exit_code == 0, res.output
    dest = json.loads(res.stdout)
    added = [i for i in range(0, len(dest) - 1) if dest[i] == "-device"]
    assert len(added) == len(ids)
    assert [w for i, w in enumerate(dest) if i not in added and i - 1 not in added] == args
    assert res.stderr.count("has no id") == ids.count(None)
    # slots and explain read the same VM and agree with it
    res = cli("slots", "--format", "json", *opts, "--qmp", src.ro, "--", *args)
    assert res.exit_code == 0, res.output
    hp = src.cmd("query-hotpluggable-cpus")
    assert [(e["props"], e.get("qom-path")) for e in json.loads(res.stdout)] == [
        (e["props"], e.get("qom-path")) for e in hp]
    res = cli("explain", "--format", "json", *opts, "--qmp", src.ro, "--", *args)
    assert res.exit_code == 0, res.output
    ex = json.loads(res.stdout)
    assert ex["live"]["qemu"].startswith(release)
    assert sum(s["state"] != "empty" for s in ex["slots"]) == sum("qom-path" in e for e in hp)
    # reading changed nothing, emitted no event
    assert src.snapshot() == before
    assert len(src.events) == events
    dst = start(release, arch, dest)
    assert_same_cpus(src, dst, anonymous=ids.count(None))


@pytest.mark.qemu
def test_destination_keeps_the_lines_own_cpus_and_leaves_out_unplugged_ones(
        start: Callable[..., Vm]) -> None:
    """pseries completes the unplug of a hot-plugged core at once in prelaunch. The line's
    anonymous core stays as written; a line core the VM does not have (a guest would have
    let it go) is left out with a warning; hot-plugged cores that are gone are not added."""
    core = "power10_v2.0-spapr-cpu-core"
    base = [*BOARDS["pseries"][1], "-device", f"{core},core-id=4"]
    src = start("10.0", "ppc64", base)
    src.cmd("device_add", {"driver": core, "id": "gone", "core-id": 8})
    src.cmd("device_del", {"id": "gone"})
    for _ in range(100):
        if not any(e.get("qom-path") == "/machine/peripheral/gone"
                   for e in src.cmd("query-hotpluggable-cpus")):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the unplug did not complete")
    src.cmd("device_add", {"driver": core, "id": "late", "core-id": 12})
    args = [*base[:-2], "-device", f"{core},id=c8,core-id=8", *base[-2:]]
    res = cli("convert", "--format", "json", "--qmp", src.ro, "--", *args)
    assert res.exit_code == 0, res.output
    dest = json.loads(res.stdout)
    assert dest == [*base, "-device", f"{core},id=late,node-id=1,core-id=12"]
    assert "-device power10_v2.0-spapr-cpu-core,id=c8,core-id=8: the VM has no such CPU now" in (
        res.stderr)
    dst = start("10.0", "ppc64", dest)
    assert_same_cpus(src, dst)


@pytest.mark.qemu
def test_destination_after_json_cpu_devices(start: Callable[..., Vm]) -> None:
    """QEMU creates JSON -devices after option-string ones: hot-plugged CPUs are then
    written as JSON too, after the line's, so they are still created last."""
    arch, base = BOARDS["q35numa"]
    args = [*base, "-device", json.dumps({"driver": "qemu64-x86_64-cpu", "id": "j1",
                                          "socket-id": 1, "core-id": 1, "thread-id": 1}),
            "-device", "qemu64-x86_64-cpu,socket-id=0,core-id=1,thread-id=1"]
    src = start("10.0", arch, args)
    ids = hotplug_out_of_order(src)
    res = cli("convert", "--format", "json", "--qmp", src.ro, "--", *args)
    assert res.exit_code == 0, res.output
    dest = json.loads(res.stdout)
    assert dest[:len(args)] == args
    added = [json.loads(dest[i + 1]) for i in range(len(args), len(dest), 2)]
    assert len(added) == len(ids)
    for dev_id, d in zip(ids, added, strict=True):  # creation order, the VM's ids
        assert d["id"] == dev_id if dev_id else d["id"].startswith("vcpu")
    assert all(d["driver"] == "qemu64-x86_64-cpu" and "node-id" in d for d in added)
    dst = start("10.0", arch, dest)
    assert_same_cpus(src, dst, anonymous=ids.count(None))


MIGRATIONS = [("q35numa", "10.0"), ("loongarch", "10.0"), ("pseries", "10.0"),
              ("q35numa", "11.1"), ("q35numa", "7.2")]


@pytest.mark.qemu
@pytest.mark.parametrize(("board", "release"), MIGRATIONS)
def test_migration_to_the_destination_line(board: str, release: str,
                                           start: Callable[..., Vm],
                                           machines_for: Callable[..., list[str]]) -> None:
    arch, args = BOARDS[board]
    src = start(release, arch, args)
    ids = hotplug_out_of_order(src)
    res = cli("convert", "--format", "json", *machines_for(release, arch), "--qmp", src.ro,
              "--", *args)
    assert res.exit_code == 0, res.output
    dst = start(release, arch, json.loads(res.stdout), incoming=True)
    assert_same_cpus(src, dst, anonymous=ids.count(None))
    src.cmd("migrate", {"uri": dst.migration})
    status: dict[str, Any] = {}
    for _ in range(600):
        status = src.cmd("query-migrate")
        if status.get("status") in ("completed", "failed"):
            break
        time.sleep(0.1)
    assert status.get("status") == "completed", status
    for _ in range(100):
        if dst.cmd("query-migrate").get("status") == "completed":
            break
        time.sleep(0.1)
    assert dst.cmd("query-migrate").get("status") == "completed", dst.stderr()
    assert_same_cpus(src, dst, anonymous=ids.count(None))


@pytest.mark.qemu
def test_a_vm_that_is_not_the_line_is_refused(start: Callable[..., Vm]) -> None:
    arch, args = BOARDS["q35numa"]
    src = start("10.0", arch, args)
    res = cli("convert", "--qmp", src.ro, "--", "-M", "q35", "-smp", "2,maxcpus=4")
    assert res.exit_code == 2
    assert "does not match the command line" in res.stderr
    assert "-smp maxcpus: the VM has 8, the line gives 4" in res.stderr
    assert "NUMA nodes: the VM has 0 (256 MiB), 1 (256 MiB), the line gives none" in res.stderr
    assert res.stdout == ""
    res = cli("slots", "--format", "json", "--qmp", src.ro, "--", "-M", "pc", *args[2:])
    assert res.exit_code == 2
    err = json.loads(res.stdout)
    assert err["kind"] == "mismatch"
    assert "machine type: the VM is pc-q35-10.0, the line gives pc-i440fx-10.0" in (
        err["differences"])
    res = cli("convert", "--target", "7.2", "--qmp", src.ro, "--", *args)
    assert res.exit_code == 2 and "--target 7.2 does not match" in res.stderr
    res = cli("convert", "--target", "10.0", "--qmp", src.ro, "--", *args)
    assert res.exit_code == 0, res.output


def test_a_vm_of_a_release_no_catalog_models() -> None:
    d = tempfile.mkdtemp(prefix="lvold-")
    try:
        path = f"{d}/s.sock"
        with fake_server(path, "old"):
            res = cli("convert", "--qmp", path, "--", "-M", "q35")
        assert res.exit_code == 2, res.output
        assert res.stderr.startswith(f"cmdxlate: error: the VM at {path} runs QEMU 4.2.1, a "
                                     "release cmdxlate does not model (it models ")
        assert "--machines m.json" in res.stderr
    finally:
        shutil.rmtree(d)


@pytest.mark.qemu
def test_a_release_cmdxlate_does_not_model(start: Callable[..., Vm],
                                           machines_for: Callable[..., list[str]]) -> None:
    """The release is the VM's own: one the catalog lacks is refused (exit 2) unless a
    machine database of that binary is given."""
    arch, args = BOARDS["q35numa"]
    vm = start("11.1", arch, args)
    res = cli("convert", "--qmp", vm.ro, "--", *args)
    if modelled("11.1"):
        assert res.exit_code == 0, res.output
        return
    assert res.exit_code == 2
    assert (f"cmdxlate: error: the VM at {vm.ro} runs QEMU 11.1.3, a release cmdxlate does "
            "not model (it models 7.2, 10.0)") in res.stderr
    res = cli("slots", *machines_for("11.1", arch), "--qmp", vm.ro, "--", *args)
    assert res.exit_code == 0, res.output
    res = cli("slots", *machines_for("11.1", arch), "--target", "10.0", "--qmp", vm.ro,
              "--", *args)
    assert res.exit_code == 2


@pytest.mark.qemu
@pytest.mark.parametrize(("arch", "args"), [
    ("aarch64", ["-M", "virt", "-m", "256M", "-smp", "2,maxcpus=4"]),
    ("riscv64", ["-M", "virt", "-m", "256M", "-smp", "2,maxcpus=4"]),
])
def test_boards_without_cpu_hotplug(arch: str, args: list[str],
                                    start: Callable[..., Vm]) -> None:
    vm = start("10.0", arch, args)
    with pytest.raises(QmpError, match="machine does not support hot-plugging CPUs"):
        vm.cmd("query-hotpluggable-cpus")
    res = cli("slots", "--qmp", vm.ro, "--", *args)
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == "cmdxlate: error: machine does not support hot-plugging CPUs"
    # nothing can have been hot-plugged: the destination line is the line, once checked
    res = cli("convert", "--format", "json", "--qmp", vm.ro, "--", *args)
    assert res.exit_code == 0 and json.loads(res.stdout) == args
    res = cli("convert", "--qmp", vm.ro, "--", *args[:-1], "2,maxcpus=2")
    assert res.exit_code == 2 and "-smp maxcpus: the VM has 4, the line gives 2" in res.stderr
    res = cli("explain", "--format", "json", "--qmp", vm.ro, "--", *args)
    assert res.exit_code == 0, res.output
    res = cli("plan", "--arch", arch, "--", *args)
    assert res.exit_code == 2
    assert "machine does not support hot-plugging CPUs" in res.stderr

_GREETING = b'{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, ' \
    b'"package": ""}, "capabilities": []}}\n'


_OLD_QEMU = {"query-version": {"qemu": {"major": 4, "minor": 2, "micro": 1}, "package": ""},
             "qom-get": "pc-q35-4.2-machine", "query-cpus-fast": []}


@contextlib.contextmanager
def fake_server(path: str, behaviour: str) -> Iterator[None]:
    """A UNIX socket server that is not QEMU: it sends garbage, JSON without QMP, closes,
    says nothing (accepting or not), or speaks QMP and then goes mute or talks nonsense."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(0.05)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            if behaviour == "noaccept":
                time.sleep(0.05)
                continue
            try:
                conn, _ = srv.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)
            if behaviour == "garbage":
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            elif behaviour == "json":
                conn.sendall(b'{"jsonrpc": "2.0", "method": "hello"}\n')
            elif behaviour == "close":
                conn.close()
            elif behaviour in ("mute", "liar", "old"):
                threading.Thread(target=_qmp_peer, args=(conn, behaviour), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        srv.close()


def _qmp_peer(conn: socket.socket, behaviour: str) -> None:
    """Greet and negotiate like QEMU, then go mute, answer everything with 42, or answer
    like a QEMU 4.2 (a release no catalog models)."""
    conn.settimeout(30)
    conn.sendall(_GREETING)
    decoder, buf = json.JSONDecoder(), ""
    while chunk := conn.recv(4096):
        buf += chunk.decode()
        while buf.strip():
            try:
                msg, end = decoder.raw_decode(buf.lstrip())
            except ValueError:
                break  # QMP clients need not end a command with a newline: wait for more
            buf = buf.lstrip()[end:]
            if msg["execute"] != "qmp_capabilities" and behaviour == "mute":
                return
            answer: Any = {} if msg["execute"] == "qmp_capabilities" else 42
            if behaviour == "old":
                answer = _OLD_QEMU.get(msg["execute"], answer)
            reply: dict[str, Any] = {"return": answer}
            if behaviour == "old" and answer == 42:
                reply = {"error": {"class": "CommandNotFound", "desc": "not in 4.2"}}
            reply.update({"id": msg["id"]} if "id" in msg else {})
            conn.sendall(json.dumps(reply).encode() + b"\n")
