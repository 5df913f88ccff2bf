"""Board families as classes: one per family, chosen by the catalog's ``board`` name.

A new board is one class here plus one data file under ``catalog/data/boards``.
"""

from __future__ import annotations

from cmdxlate.boards.arm_virt import ArmVirtBoard
from cmdxlate.boards.base import Board
from cmdxlate.boards.loongarch_virt import LoongarchVirtBoard
from cmdxlate.boards.no_cpu_hotplug import NoCpuHotplugBoard
from cmdxlate.boards.riscv_virt import RiscvVirtBoard
from cmdxlate.boards.s390x import S390xBoard
from cmdxlate.boards.spapr import SpaprBoard
from cmdxlate.boards.x86 import X86Board

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog import MachineType

BOARDS: dict[str, type[Board]] = {cls.name: cls for cls in (
    X86Board, SpaprBoard, S390xBoard, ArmVirtBoard, RiscvVirtBoard, LoongarchVirtBoard,
    NoCpuHotplugBoard)}


def board_for(machine: MachineType) -> Board:
    return BOARDS[machine.board](machine)


__all__ = ["BOARDS", "Board", "board_for"]
