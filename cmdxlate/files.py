"""Reading input files within bounds, and writing output files atomically."""

from __future__ import annotations

import os
import stat
import tempfile

from cmdxlate.error import InputError


def read_text_limited(path: str | os.PathLike[str], max_bytes: int) -> str:
    """UTF-8 text of a file, refusing huge, binary or unreadable input."""
    name = os.fspath(path)
    try:
        if os.path.isdir(name):
            raise InputError(f"{name}: is a directory")
        with open(name, "rb") as f:
            data = f.read(max_bytes + 1)
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {name!r}: {getattr(e, 'strerror', None) or e}"
                            ) from None
    if len(data) > max_bytes:
        raise InputError(f"{name}: larger than {max_bytes} bytes, refusing to read it")
    if b"\0" in data:
        raise InputError(f"{name}: binary file (NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None


def write_atomic(path: str | os.PathLike[str], data: str, force: bool = False) -> None:
    """Temp file in the same folder, fsync, rename; never through a symlink.

    An existing file is replaced only with ``force``, and keeps its mode.
    """
    name = os.fspath(path)
    if not name:
        raise InputError("no output file name given")
    if "\0" in name:
        raise InputError(f"cannot write {name!r}: the name contains a NUL byte")
    if os.path.islink(name):
        raise InputError(f"{name} is a symbolic link; refusing to write through it")
    if os.path.isdir(name):
        raise InputError(f"{name} is a directory")
    exists = os.path.exists(name)
    if exists and not force:
        raise InputError(f"{name} exists; use --force to overwrite it")
    folder = os.path.dirname(os.path.abspath(name))
    mode = stat.S_IMODE(os.stat(name).st_mode) if exists else None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".cmdxlate-", dir=folder)
    except OSError as e:
        raise InputError(f"cannot write in {folder}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        if not force and os.path.exists(name):
            raise InputError(f"{name} exists; use --force to overwrite it")
        os.replace(tmp, name)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise InputError(f"cannot write {name}: {e.strerror or e}") from None
        raise
