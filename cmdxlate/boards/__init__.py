"""Board families as classes: one per family, chosen by the catalog's ``board`` name.

A new board is one class in this folder, one line in ``BOARDS`` and one data file
under ``catalog/data/boards``. A command imports only the class its machine needs.
"""

from __future__ import annotations

import sys

from cmdxlate.boards.base import Board

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog import MachineType

# The catalog's board name -> the module and class that implement it.
BOARDS: dict[str, tuple[str, str]] = {
    "x86": ("cmdxlate.boards.x86", "X86Board"),
    "spapr": ("cmdxlate.boards.spapr", "SpaprBoard"),
    "s390x": ("cmdxlate.boards.s390x", "S390xBoard"),
    "arm-virt": ("cmdxlate.boards.arm_virt", "ArmVirtBoard"),
    "riscv-virt": ("cmdxlate.boards.riscv_virt", "RiscvVirtBoard"),
    "loongarch-virt": ("cmdxlate.boards.loongarch_virt", "LoongarchVirtBoard"),
    "no-cpu-hotplug": ("cmdxlate.boards.no_cpu_hotplug", "NoCpuHotplugBoard"),
}


def board_class(name: str) -> type[Board]:
    module, cls = BOARDS[name]
    if module not in sys.modules:  # importlib itself costs start-up time
        __import__(module)
    found: type[Board] = getattr(sys.modules[module], cls)
    return found


def board_for(machine: MachineType) -> Board:
    return board_class(machine.board)(machine)


__all__ = ["BOARDS", "Board", "board_class", "board_for"]
