"""Boards cmdxlate knows only by name and CPU limit: CPUs by index, no slot ids."""

from __future__ import annotations

from cmdxlate.boards.base import Board


class NoCpuHotplugBoard(Board):
    name = "no-cpu-hotplug"
