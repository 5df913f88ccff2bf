"""The typed model of a command line (``VmSpec``), built from the syntax in one pass."""

from cmdxlate.model.objects import Backend
from cmdxlate.model.spec import Device, Setting, VmSpec, build_spec

__all__ = ["Backend", "Device", "Setting", "VmSpec", "build_spec"]
