"""The typed model of a command line (``VmSpec``), built from the syntax in one pass."""

from cmdxlate.model.spec import Backend, Device, Setting, VmSpec, build_spec

__all__ = ["Backend", "Device", "Setting", "VmSpec", "build_spec"]
