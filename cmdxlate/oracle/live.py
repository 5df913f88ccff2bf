"""Read a running QEMU over its QMP UNIX socket, read-only, with a deadline.

Only the commands in ``READ_ONLY`` are ever sent (plus the handshake's
``qmp_capabilities``); none of them changes the VM, emits an event or moves it
out of its run state (measured on QEMU 10.0.2 and 11.1.3).

qemu.qmp's async client is used under ``asyncio.wait_for``: the legacy sync
client has no timeout and blocks forever on a silent peer. A busy QMP socket
(another client connected), a stopped QEMU and a silent non-QMP server all
accept the connection and then say nothing, so all three end in one timeout
message that names them. Every failure is one ``OracleError`` (exit 4).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import stat
from collections.abc import Awaitable
from typing import Any, TypeVar

from cmdxlate.error import (
    OracleCrash,
    OracleError,
    OracleTimeout,
    OracleUnavailable,
)
from cmdxlate.oracle.timeout import valid_timeout
from cmdxlate.records import dataclass, field

# Commands read_vm may send; an assertion guards every call.
READ_ONLY = frozenset({
    "query-version", "query-target", "qom-get", "query-hotpluggable-cpus",
    "query-cpus-fast", "x-query-numa", "human-monitor-command",
})
HMP_READ_ONLY = frozenset({"info numa"})  # QEMU before 6.2 has no x-query-numa

DEFAULT_TIMEOUT = 10.0
UNATTACHED = "/machine/unattached/"
PERIPHERAL = "/machine/peripheral/"
PERIPHERAL_ANON = "/machine/peripheral-anon/"
_SUN_PATH_MAX = 107  # bytes in sockaddr_un.sun_path, less the final NUL
_HINT_SOCKET = ("QEMU takes several -qmp unix:PATH,server=on,wait=off options: give cmdxlate "
                "one of its own")

T = TypeVar("T")


@dataclass(frozen=True)
class LiveSlot:
    """One entry of query-hotpluggable-cpus; ``qom_path`` is set when it is plugged."""

    type: str
    vcpus_count: int
    props: dict[str, int]
    qom_path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The entry as ``cmdxlate slots`` prints one (props in QEMU's declaration order)."""
        from cmdxlate.resolver.topology import PROP_ORDER

        props = {k: self.props[k] for k in PROP_ORDER if k in self.props}
        props.update(self.props)
        out: dict[str, Any] = {"type": self.type, "vcpus-count": self.vcpus_count,
                               "props": props, "plugged": self.qom_path is not None}
        if self.qom_path is not None:
            out["qom-path"] = self.qom_path
        return out


@dataclass(frozen=True)
class LiveCpu:
    """One entry of query-cpus-fast (the host thread id left out)."""

    cpu_index: int
    props: dict[str, int]
    qom_path: str


@dataclass
class LiveVm:
    """What a running QEMU says about its CPUs."""

    socket: str
    version: str  # "10.0.2"
    package: str
    arch: str | None
    machine: str  # the QOM type of /machine without "-machine": aliases resolved
    smp: dict[str, int] | None  # qom-get /machine smp (QEMU 6.1+); cpus = the boot count
    slots: list[LiveSlot] | None  # slot order (QEMU answers last slot first)
    slots_error: str | None  # why query-hotpluggable-cpus failed (no CPU hotplug)
    cpus: list[LiveCpu]  # creation order
    numa: dict[int, int] | None  # node -> MiB, from "info numa"; None if unreadable
    unit_types: dict[str, str] = field(default_factory=dict)  # non-boot unit -> QOM type

    @property
    def release(self) -> str:
        return ".".join(self.version.split(".")[:2])


def _quiet_qmp_logger() -> None:
    """qemu.qmp logs each failed connect at ERROR; cmdxlate prints one message itself."""
    log = logging.getLogger("qemu.qmp")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
    log.propagate = False
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # see signals.install


def _check_path(path: str) -> None:
    """Clear messages for what is plainly not a socket, before connecting."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise OracleUnavailable(f"{path}: no such QMP socket", hint=_HINT_SOCKET) from None
    except PermissionError:
        raise OracleUnavailable(f"{path}: permission denied") from None
    except (OSError, ValueError) as e:
        raise OracleUnavailable(f"{path}: {getattr(e, 'strerror', None) or e}") from None
    if stat.S_ISSOCK(st.st_mode):
        return
    kind = ("a directory" if stat.S_ISDIR(st.st_mode) else
            "a regular file" if stat.S_ISREG(st.st_mode) else "not a socket")
    raise OracleUnavailable(f"{path}: {kind}, not a QMP socket", hint=_HINT_SOCKET)


def _connect_message(path: str, exc: BaseException) -> OracleError:
    from qemu.qmp.qmp_client import GreetingError, NegotiationError

    if isinstance(exc, FileNotFoundError):
        return OracleUnavailable(f"{path}: no such QMP socket", hint=_HINT_SOCKET)
    if isinstance(exc, ConnectionRefusedError):
        return OracleUnavailable(f"{path}: nothing listens on this socket (has the QEMU that "
                                 "made it exited?)")
    if isinstance(exc, PermissionError):
        return OracleUnavailable(f"{path}: permission denied")
    if isinstance(exc, GreetingError):
        raw = getattr(exc.exc, "raw", None)
        what = (f"it sent {bytes(raw[:60])!r}" if raw else "its greeting has no 'QMP' member")
        return OracleError(f"{path}: not a QMP monitor ({what})")
    if isinstance(exc, NegotiationError):
        return OracleError(f"{path}: QMP capabilities negotiation failed ({exc.exc})")
    if isinstance(exc, EOFError):
        return OracleError(f"{path}: the peer closed the connection before a QMP greeting "
                           "(not QMP, or QEMU exiting)")
    if isinstance(exc, OSError) and exc.errno == errno.EINVAL:
        return OracleError(f"{path}: QEMU did not take the connection: another client holds "
                           "this QMP socket and others are already waiting", hint=_HINT_SOCKET)
    if isinstance(exc, OSError):
        return OracleError(f"{path}: {exc.strerror or exc}")
    return OracleError(f"{path}: cannot connect: {exc}")


class _Reader:
    """One QMP session under one deadline."""

    def __init__(self, path: str, timeout: float) -> None:
        from qemu.qmp import QMPClient

        self.path = path
        self.timeout = timeout
        self.client = QMPClient("cmdxlate")
        self.deadline = 0.0

    async def _within(self, what: Awaitable[T], doing: str, hint: str | None = None) -> T:
        left = self.deadline - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(what, max(left, 0.001))
        except asyncio.TimeoutError:
            raise OracleTimeout(f"{self.path}: {doing} within {self.timeout:g} s",
                                hint=hint) from None

    async def connect(self) -> None:
        from qemu.qmp import ConnectError

        self.deadline = asyncio.get_running_loop().time() + self.timeout
        address = self.path
        dirfd = None
        if len(os.fsencode(address)) > _SUN_PATH_MAX:
            # A long path still connects through the directory's descriptor.
            dirfd = os.open(os.path.dirname(address) or ".", os.O_PATH)
            address = f"/proc/self/fd/{dirfd}/{os.path.basename(address)}"
        try:
            await self._within(self.client.connect(address), "no QMP greeting", hint=(
                "QEMU is stopped or hung, another client holds this socket (QEMU serves one "
                "client per QMP socket), or it is not QMP; " + _HINT_SOCKET))
        except ConnectError as e:
            raise _connect_message(self.path, e.exc) from None
        finally:
            if dirfd is not None:
                os.close(dirfd)

    async def run(self, cmd: str, args: dict[str, Any] | None = None) -> Any:
        """A read-only command; QEMU's error comes back as ``ExecuteError``."""
        from qemu.qmp.qmp_client import ExecInterruptedError

        assert cmd in READ_ONLY, f"{cmd} is not a read-only command"
        assert cmd != "human-monitor-command" or (
            args is not None and args.get("command-line") in HMP_READ_ONLY), args
        try:
            return await self._within(self.client.execute(cmd, args),
                                      f"QEMU did not answer {cmd}")
        except ExecInterruptedError:
            raise OracleCrash(f"{self.path}: QEMU closed the connection during {cmd} "
                              "(did it exit?)") from None

    async def optional(self, cmd: str, args: dict[str, Any] | None = None
                       ) -> tuple[Any, str | None]:
        from qemu.qmp import ExecuteError

        try:
            return await self.run(cmd, args), None
        except ExecuteError as e:
            return None, str(e)

    async def required(self, cmd: str, args: dict[str, Any] | None = None) -> Any:
        answer, err = await self.optional(cmd, args)
        if err is not None:
            raise OracleError(f"{self.path}: QEMU refused {cmd}: {err}")
        return answer

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.client.disconnect(), 1.0)
        except BaseException:  # noqa: BLE001 - the peer may be gone; the answer is read
            pass


async def _read(path: str, timeout: float) -> LiveVm:
    r = _Reader(path, timeout)
    try:
        await r.connect()
        version = await r.required("query-version")
        target, _ = await r.optional("query-target")
        mtype = await r.required("qom-get", {"path": "/machine", "property": "type"})
        smp, _ = await r.optional("qom-get", {"path": "/machine", "property": "smp"})
        hp, hp_error = await r.optional("query-hotpluggable-cpus")
        cpus = await r.required("query-cpus-fast")
        numa, err = await r.optional("x-query-numa")
        if err is None and isinstance(numa, dict):
            numa_text = numa.get("human-readable-text")
        else:
            numa_text, _ = await r.optional("human-monitor-command",
                                            {"command-line": "info numa"})
        vm = _build(path, version, target, mtype, smp, hp, hp_error, cpus, numa_text)
        # The type of each CPU -smp did not create (s390x and loongarch take other models
        # than the machine's); QEMU 10.1+ names it in query-cpus-fast, except a core's.
        named = {c.get("qom-path"): c.get("qom-type") for c in cpus if isinstance(c, dict)}
        for slot in vm.slots or ():
            p = slot.qom_path
            if p is None or p.startswith(UNATTACHED):
                continue
            t = named.get(p)
            if not isinstance(t, str):
                t, _ = await r.optional("qom-get", {"path": p, "property": "type"})
            vm.unit_types[p] = t if isinstance(t, str) else slot.type
        return vm
    finally:
        await r.close()


def _build(path: str, version: Any, target: Any, mtype: Any, smp: Any, hp: Any,
           hp_error: str | None, cpus: Any, numa_text: Any) -> LiveVm:
    """Typed answers; anything of the wrong shape is a peer that is not a sane QEMU."""
    step = "query-version"
    try:
        q = version["qemu"]
        ver = f"{int(q['major'])}.{int(q['minor'])}.{int(q['micro'])}"
        package = str(version.get("package", ""))
        arch = str(target["arch"]) if isinstance(target, dict) else None
        step = "qom-get /machine type"
        machine = str(mtype)
        machine = machine[:-len("-machine")] if machine.endswith("-machine") else machine
        step = "qom-get /machine smp"
        smp_d = {str(k): int(v) for k, v in smp.items()} if isinstance(smp, dict) else None
        step = "query-hotpluggable-cpus"
        slots = None
        if hp is not None:
            slots = [LiveSlot(str(e["type"]), int(e["vcpus-count"]),
                              {str(k): int(v) for k, v in e["props"].items()},
                              str(e["qom-path"]) if "qom-path" in e else None)
                     for e in reversed(hp)]
        step = "query-cpus-fast"
        live_cpus = [LiveCpu(int(c["cpu-index"]),
                             {str(k): int(v) for k, v in c.get("props", {}).items()},
                             str(c["qom-path"])) for c in cpus]
        numa = parse_numa(numa_text) if isinstance(numa_text, str) else None
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise OracleError(f"{path}: unexpected answer to {step} ({type(e).__name__}: {e})"
                          ) from None
    return LiveVm(path, ver, package, arch, machine, smp_d, slots,
                  hp_error if hp is None else None, live_cpus, numa)


def parse_numa(text: str) -> dict[int, int] | None:
    """Nodes and their sizes in MiB from HMP ``info numa``."""
    head = re.match(r"\s*(\d+) nodes", text)
    if head is None:
        return None
    nodes: dict[int, int] = {}
    for m in re.finditer(r"^node (\d+) size: (\d+) MB$", text, re.M):
        nodes[int(m[1])] = int(m[2])
    return nodes


def read_vm(path: str, timeout: float = DEFAULT_TIMEOUT) -> LiveVm:
    """Read what a running QEMU says about its CPUs; raise ``OracleError`` on a bad peer."""
    _quiet_qmp_logger()
    _check_path(path)
    return asyncio.run(_read(path, timeout))


__all__ = ["DEFAULT_TIMEOUT", "READ_ONLY", "LiveCpu", "LiveSlot", "LiveVm", "parse_numa",
           "read_vm", "valid_timeout"]
