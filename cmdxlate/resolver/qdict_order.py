"""Which unexpected key QEMU names first when several are given.

QEMU's QAPI input visitor copies a QDict's keys into a GLib hash table,
removes each key as the struct's members are visited, and reports the first
key left in the table: "Parameter 'smp.foo' is unexpected".  Which key that
is depends on QDict's bucket order and GHashTable's open addressing, both
reproduced here (QEMU's qobject/qdict.c tdb_hash, GLib 2.7x ghash.c; measured through
QEMU on GLib 2.74 and 2.90, with tests/data/memory-measured.json among others).
"""

from __future__ import annotations

_M32 = 0xFFFFFFFF
QDICT_BUCKETS = 512
_PRIME_MOD = (1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749)
_MIN_SHIFT = 3
_UNUSED, _TOMBSTONE = 0, 1


_HASHED: dict[str, int] = {}  # key names repeat from line to line: hash each once


def tdb_hash(name: str) -> int:
    value = _HASHED.get(name)
    if value is None:
        value = _tdb_hash(name)
        if len(_HASHED) < 4096:
            _HASHED[name] = value
    return value


def _tdb_hash(name: str) -> int:
    data = name.encode("utf-8", "surrogateescape")  # QEMU's bytes (JSON's \u0000: C0 80)
    value = (0x238F13AF * len(data)) & _M32
    for i, ch in enumerate(data):
        value = (value + (ch << (i * 5 % 24))) & _M32
    return (1103515243 * value + 12345) & _M32


_ORDERS: dict[tuple[str, ...], list[str]] = {}  # lines repeat the same key lists


def qdict_iteration_order(keys: list[str]) -> list[str]:
    """Keys in insertion order -> the order qdict_first/qdict_next yields them."""
    key = tuple(keys)
    order = _ORDERS.get(key)
    if order is None:
        order = _qdict_order(keys)
        if len(_ORDERS) < 4096:
            _ORDERS[key] = order
    return list(order)


def _qdict_order(keys: list[str]) -> list[str]:
    buckets: dict[int, list[str]] = {}
    for k in keys:
        b = tdb_hash(k) % QDICT_BUCKETS
        lst = buckets.setdefault(b, [])
        if k not in lst:
            lst.insert(0, k)  # QLIST_INSERT_HEAD
    return [k for b in sorted(buckets) for k in buckets[b]]


def g_str_hash(s: str) -> int:
    """djb2 over the bytes as signed chars, in 32 bits."""
    h = 5381
    for ch in s.encode("utf-8", "surrogateescape"):
        h = ((h << 5) + h + (ch if ch < 128 else ch - 256)) & _M32
    return h


def _closest_shift(n: int) -> int:
    i = 0
    while n:
        n >>= 1
        i += 1
    return max(i, _MIN_SHIFT)


class _GHashSet:
    """Just enough of GHashTable to know where each key ends up."""

    def __init__(self) -> None:
        self._set_shift(_MIN_SHIFT)
        self.hashes = [_UNUSED] * self.size
        self.keys: list[str | None] = [None] * self.size
        self.nnodes = 0
        self.noccupied = 0

    def _set_shift(self, shift: int) -> None:
        self.size = 1 << shift
        self.mod = _PRIME_MOD[shift]
        self.mask = self.size - 1

    def _index(self, h: int) -> int:
        return ((h * 11) & _M32) % self.mod

    def _lookup(self, key: str, h: int) -> tuple[int, bool]:
        idx = self._index(h)
        step = 0
        first_tomb: int | None = None
        while self.hashes[idx] != _UNUSED:
            if self.hashes[idx] == h and self.keys[idx] == key:
                return idx, True
            if self.hashes[idx] == _TOMBSTONE and first_tomb is None:
                first_tomb = idx
            step += 1
            idx = (idx + step) & self.mask
        return (first_tomb if first_tomb is not None else idx), False

    def insert(self, key: str) -> None:
        h = max(g_str_hash(key), 2)
        idx, found = self._lookup(key, h)
        if found:
            return
        was_unused = self.hashes[idx] == _UNUSED
        self.hashes[idx] = h
        self.keys[idx] = key
        self.nnodes += 1
        if was_unused:
            self.noccupied += 1
            self._maybe_resize()

    def remove(self, key: str) -> None:
        h = max(g_str_hash(key), 2)
        idx, found = self._lookup(key, h)
        if not found:
            return
        self.hashes[idx] = _TOMBSTONE
        self.keys[idx] = None
        self.nnodes -= 1
        self._maybe_resize()

    def _maybe_resize(self) -> None:
        if ((self.size > self.nnodes * 4 and self.size > 1 << _MIN_SHIFT)
                or self.size <= self.noccupied + self.noccupied // 16):
            self._resize()

    def _resize(self) -> None:
        old_size = self.size
        self._set_shift(_closest_shift(int(self.nnodes * 1.333)))
        if self.size > old_size:
            self.hashes += [_UNUSED] * (self.size - old_size)
            self.keys += [None] * (self.size - old_size)
        done = [False] * max(self.size, old_size)
        for i in range(old_size):
            node_hash = self.hashes[i]
            if node_hash < 2:
                self.hashes[i] = _UNUSED
                continue
            if done[i]:
                continue
            node_key = self.keys[i]
            self.hashes[i] = _UNUSED
            self.keys[i] = None
            while True:
                idx = self._index(node_hash)
                step = 0
                while done[idx]:
                    step += 1
                    idx = (idx + step) & self.mask
                done[idx] = True
                replaced_hash, replaced_key = self.hashes[idx], self.keys[idx]
                self.hashes[idx] = node_hash
                self.keys[idx] = node_key
                if replaced_hash < 2:
                    break
                node_hash, node_key = replaced_hash, replaced_key
        if self.size < old_size:
            del self.hashes[self.size:]
            del self.keys[self.size:]
        self.noccupied = self.nnodes

    def first(self) -> str | None:
        for i in range(self.size):
            if self.hashes[i] >= 2:
                return self.keys[i]
        return None


def first_unexpected(keys_in_insertion_order: list[str], members: list[str]) -> str | None:
    """The key QEMU's QAPI input visitor reports as unexpected, or None when all are
    members."""
    return first_left(qdict_iteration_order(keys_in_insertion_order), members)


def first_left(inserted: list[str], removed: list[str]) -> str | None:
    """The key a GHashTable lists first after ``inserted`` went in, in order, and then
    ``removed`` came out, in order (QemuOpts' opts visitor fills its table in option
    order, not a QDict's)."""
    table = _GHashSet()
    for k in inserted:
        table.insert(k)
    for k in removed:
        table.remove(k)
    return table.first()
