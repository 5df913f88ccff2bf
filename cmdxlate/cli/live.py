"""The bodies of ``--qmp`` (a running VM, read-only) and of ``plan`` (the hotplug route).

``--qmp`` reads the VM first, so the line is resolved for the VM's own release
and architecture; then the VM must agree with the line (exit 2 if not, with
what differs) before anything is printed. A bad peer ends with exit 4.
"""

from __future__ import annotations

import json
import sys

from cmdxlate.cli.common import Session, format_argv, visible, warn
from cmdxlate.error import CmdxlateError, QueryRefusal, UsageError

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog import Catalog
    from cmdxlate.resolver.live import LiveState
    from cmdxlate.syntax.argv import CommandLine


def check_timeout(s: Session, qmp: str | None, timeout: float | None) -> float | None:
    """--timeout is for --qmp; a bad value is refused before anything is read."""
    try:
        if qmp is None:
            if timeout is not None:
                raise UsageError("--timeout is the time to wait for the VM: give it with --qmp")
            return None
        from cmdxlate.oracle.live import DEFAULT_TIMEOUT  # asyncio: only for a live VM
        from cmdxlate.oracle.timeout import valid_timeout

        return valid_timeout(timeout, DEFAULT_TIMEOUT)
    except CmdxlateError as e:
        s.fail(e)


def live_state(s: Session, cl: CommandLine, qmp: str, timeout: float, target: str | None,
               arch: str | None, catalog: Catalog) -> LiveState:
    """Read the VM, resolve the line for its release, and check one against the other."""
    from cmdxlate.model import build_spec
    from cmdxlate.oracle.live import read_vm
    from cmdxlate.resolver.live import attach, live_release

    try:
        vm = read_vm(qmp, timeout)
        release = live_release(catalog, target, vm)
    except CmdxlateError as e:
        s.fail(e)
    topo = s.resolve(cl, str(release.version), arch or cl.arch or vm.arch, catalog)
    try:
        return attach(build_spec(cl), topo, vm)
    except CmdxlateError as e:
        s.fail(e)


def live_convert(s: Session, cl: CommandLine, state: LiveState, output: str | None,
                 force: bool) -> None:
    from cmdxlate.emit.destination import destination

    dest = destination(cl, state)
    warn(dest.warnings)
    s.write(format_argv(dest.groups, s.fmt, cl.env, cl.binary), output, force)


def live_slots(s: Session, state: LiveState) -> None:
    vm = state.vm
    if vm.slots is None:
        s.fail(QueryRefusal(vm.slots_error or "machine does not support hot-plugging CPUs"))
    warn(state.warnings)
    answer = [slot.as_dict() for slot in reversed(vm.slots)]
    if s.fmt == "json":
        sys.stdout.write(json.dumps(answer) + "\n")
        return
    from cmdxlate.cli.render import slots_table

    slots_table(vm.machine, answer, f"live VM at {vm.socket}: QEMU {vm.version}, checked against "
                "the line")


def live_explain(s: Session, state: LiveState) -> None:
    from cmdxlate.cli.common import dump

    vm = state.vm
    if s.fmt == "json":
        from cmdxlate.emit.explain import explain_data

        data = explain_data(state.topology)
        data["warnings"] = state.warnings
        data["live"] = {"socket": vm.socket, "qemu": vm.version}
        sys.stdout.write(dump(data))
        return
    from cmdxlate.cli.render import explain_tree

    sys.stdout.write(f"live VM at {visible(vm.socket)}: QEMU {visible(vm.version)}, checked "
                     "against the line\n")
    explain_tree(state.topology)
    warn(state.warnings)


def plan_command(s: Session, cl: CommandLine, cpus: int | None, target: str | None,
                 arch: str | None, catalog: Catalog) -> None:
    from cmdxlate.emit.plan import make_plan

    topo = s.resolve(cl, target, arch, catalog)
    try:
        plan = make_plan(cl, topo, cpus)
    except CmdxlateError as e:
        s.fail(e)
    warn(plan.warnings)
    if s.fmt == "json":
        sys.stdout.write(json.dumps(plan.as_dict(cl.binary)) + "\n")
        return
    if s.fmt == "qmp":
        sys.stdout.write("".join(json.dumps(c) + "\n" for c in plan.commands))
        return
    from cmdxlate.cli.render import plan_view

    plan_view(plan, format_argv(plan.groups, "shell", cl.env, cl.binary))
