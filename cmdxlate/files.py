"""Reading input files within bounds, and writing output files atomically.

Only regular files are read or written.  An input that is a FIFO, a device,
a socket or a directory is refused before anything could block on it (the
caller's own anonymous pipe, ``/dev/stdin`` or ``<(...)``, is read); an
output name that is anything but a regular file (``/dev/null``, a FIFO, a
directory, a symbolic link) is refused even with ``--force``, so a run as
root can never replace a device node.  A new output appears atomically and
never replaces a file another process created meanwhile; ``--force``
replaces a regular file with one name, keeping its owner, group and
permission bits (never setuid, setgid or sticky).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from functools import cache

from cmdxlate.error import InputError

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))


def file_kind(mode: int) -> str:
    """'a FIFO', 'a character device', ... for a non-regular ``st_mode``."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _not_regular(name: str, mode: int, verb: str) -> InputError:
    kind = file_kind(mode)
    if kind == "a directory":
        return InputError(f"{name}: is a directory")
    return InputError(f"{name}: is {kind}, not a regular file; cmdxlate {verb} only "
                         "regular files")


@cache
def _pipefs_device() -> int:
    """``st_dev`` of anonymous pipes (Linux: pipefs); named FIFOs live on their file system."""
    r, w = os.pipe()
    try:
        return os.fstat(r).st_dev
    finally:
        os.close(r)
        os.close(w)


def is_inherited_pipe(st: os.stat_result) -> bool:
    """An anonymous pipe (``/dev/stdin``, ``<(...)``): the caller's own stream, not a FIFO
    in a folder that may have no writer."""
    return stat.S_ISFIFO(st.st_mode) and st.st_dev == _pipefs_device()


def read_bytes_limited(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of a regular file (or the caller's pipe); never blocks on a FIFO or device.

    The name is checked with stat() before it is opened (opening some devices
    acts on them), opened non-blocking, and checked again with fstat() on the
    open descriptor, so a swap between the two is caught too.  An anonymous
    pipe the caller handed over (``--from-file /dev/stdin``, ``<(...)``) is
    read, blocking like any reader of a pipe, up to the same byte bound.
    """
    name = os.fspath(path)
    try:
        st = os.stat(name)
        if not (stat.S_ISREG(st.st_mode) or is_inherited_pipe(st)):
            raise _not_regular(name, st.st_mode, "reads")
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            if not (stat.S_ISREG(st.st_mode) or is_inherited_pipe(st)):
                raise _not_regular(name, st.st_mode, "reads")
            os.set_blocking(fd, True)
            chunks: list[bytes] = []
            left = max_bytes + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {name!r}: {getattr(e, 'strerror', None) or e}"
                            ) from None
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise InputError(f"{name}: larger than {max_bytes} bytes, refusing to read it")
    return data


def read_text_limited(path: str | os.PathLike[str], max_bytes: int) -> str:
    """UTF-8 text of a regular file, refusing huge, binary or unreadable input."""
    name = os.fspath(path)
    data = read_bytes_limited(name, max_bytes)
    if b"\0" in data:
        raise InputError(f"{name}: binary file (NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None


def check_output_target(path: str | os.PathLike[str], force: bool) -> os.stat_result | None:
    """Refuse an output name cmdxlate must not write; the existing file's stat, if any.

    Refused always: a symbolic link, a directory, anything not a regular file,
    a regular file with more than one hard link.  Refused without ``force``:
    any existing file.
    """
    name = os.fspath(path)
    if not name:
        raise InputError("no output file name given")
    if "\0" in name:
        raise InputError(f"cannot write {name!r}: the name contains a NUL byte")
    try:
        st = os.lstat(name)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise InputError(f"cannot write {name}: {getattr(e, 'strerror', None) or e}"
                            ) from None
    if stat.S_ISLNK(st.st_mode):
        raise InputError(f"{name} is a symbolic link; refusing to write through it")
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{name} is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{name} is {file_kind(st.st_mode)}, not a regular file; cmdxlate "
                            "writes only regular files and never replaces anything else")
    if not force:
        raise InputError(f"{name} exists; use --force to overwrite it")
    if st.st_nlink > 1:
        raise InputError(
            f"{name} has {st.st_nlink} hard links; replacing it would leave the other names "
            "with the old content, so cmdxlate does not (remove the other links, or write "
            "to a new file)")
    return st


def _keep_owner(tmp: str, old: os.stat_result) -> None:
    """The new file gets the old owner and group where this process may set them."""
    for uid, gid in ((old.st_uid, old.st_gid), (-1, old.st_gid)):
        try:
            os.chown(tmp, uid, gid)
            return
        except PermissionError:
            continue


def _link_no_replace(tmp: str, name: str) -> None:
    """Give ``tmp`` the name ``name`` unless something has that name: atomic.

    link() fails with EEXIST whatever appeared at ``name``; where a file
    system has no hard links, an O_EXCL create claims the name first.
    """
    try:
        os.link(tmp, name)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK,
                           errno.ENOSYS, errno.EINVAL):
            raise
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        try:
            os.replace(tmp, name)
        except OSError:
            os.unlink(name)  # the empty placeholder this call created
            raise
        return
    os.unlink(tmp)


def write_atomic(path: str | os.PathLike[str], data: str, force: bool = False) -> None:
    """Temp file in the same folder, fsync, then an atomic link or rename.

    A new file never replaces one that appeared meanwhile (two writers: one
    wins, the other gets "exists").  With ``force`` an existing regular file
    is replaced; it keeps owner, group and mode minus setuid/setgid/sticky.
    """
    name = os.fspath(path)
    old = check_output_target(name, force)
    folder = os.path.dirname(os.path.abspath(name))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".cmdxlate-", dir=folder)
    except OSError as e:
        raise InputError(f"cannot write in {folder}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if old is not None:
            _keep_owner(tmp, old)
            os.chmod(tmp, stat.S_IMODE(old.st_mode) & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        try:
            _link_no_replace(tmp, name)
        except FileExistsError:
            if not force:
                raise InputError(f"{name} exists; use --force to overwrite it") from None
            check_output_target(name, force)  # what appeared must be a plain file too
            os.replace(tmp, name)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise InputError(f"cannot write {name}: {e.strerror or e}") from None
        raise
