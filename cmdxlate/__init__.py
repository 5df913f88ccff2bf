"""cmdxlate: make QEMU's CPU topology explicit, exactly as a QEMU release computes it.

The library follows the command's pipeline::

    import cmdxlate

    line = cmdxlate.parse(["-M", "q35", "-smp", "4,maxcpus=8"])    # syntax, lossless
    topo = cmdxlate.resolve(line, target="10.0")                    # QEMU's rules
    topo.hotpluggable_cpus()     # what query-hotpluggable-cpus answers
    topo.present_cpus()          # what query-cpus-fast answers
    cmdxlate.convert(line, topo).argv()                           # explicit -device CPUs

``resolve`` raises ``QemuRefusal`` with QEMU's own text where that release would
refuse the line; every error is a ``CmdxlateError`` (see ``cmdxlate.error``).
Hypothesis strategies for your own property tests: ``cmdxlate.testing.strategies``.

Names are imported on first use, so ``import cmdxlate`` stays cheap.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.2.0"

if TYPE_CHECKING:
    from cmdxlate.catalog import Catalog
    from cmdxlate.emit.convert import convert
    from cmdxlate.error import CmdxlateError, InputError, OracleError, QemuRefusal
    from cmdxlate.resolver import resolve
    from cmdxlate.resolver.topology import Topology
    from cmdxlate.syntax.argv import CommandLine
    from cmdxlate.syntax.argv import parse_argv as parse

_EXPORTS = {
    "parse": ("cmdxlate.syntax.argv", "parse_argv"),
    "CommandLine": ("cmdxlate.syntax.argv", "CommandLine"),
    "resolve": ("cmdxlate.resolver", "resolve"),
    "Topology": ("cmdxlate.resolver.topology", "Topology"),
    "convert": ("cmdxlate.emit.convert", "convert"),
    "Catalog": ("cmdxlate.catalog", "Catalog"),
    "CmdxlateError": ("cmdxlate.error", "CmdxlateError"),
    "InputError": ("cmdxlate.error", "InputError"),
    "QemuRefusal": ("cmdxlate.error", "QemuRefusal"),
    "OracleError": ("cmdxlate.error", "OracleError"),
}

__all__ = ["Catalog", "CmdxlateError", "CommandLine", "InputError", "OracleError", "QemuRefusal",
           "Topology", "__version__", "convert", "parse", "resolve"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'cmdxlate' has no attribute {name!r}")
    from importlib import import_module

    module, attr = _EXPORTS[name]
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value
