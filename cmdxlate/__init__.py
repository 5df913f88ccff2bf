"""cmdxlate: make QEMU's CPU topology explicit, exactly as QEMU computes it."""

__version__ = "0.1.0"
