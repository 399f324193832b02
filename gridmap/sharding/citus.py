"""Citus's placement of a hash-distributed table's rows, computed without Citus.

A text distribution column is hashed with PostgreSQL's ``hashtext`` (Bob Jenkins'
lookup3 ``hash_bytes`` in src/common/hashfn.c, read as a signed 32-bit integer). The
32-bit range is cut into ``shard_count`` equal intervals, one shard each, and the
shards are placed on the workers in turn. tests/db/test_sharding_hash.py checks this
hash against the server's own ``hashtext``.
"""

from __future__ import annotations

MASK = 0xFFFFFFFF
HASH_SPACE = 1 << 32
INT32_MIN = -(1 << 31)


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & MASK


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    a = (a - c) & MASK; a ^= _rot(c, 4); c = (c + b) & MASK
    b = (b - a) & MASK; b ^= _rot(a, 6); a = (a + c) & MASK
    c = (c - b) & MASK; c ^= _rot(b, 8); b = (b + a) & MASK
    a = (a - c) & MASK; a ^= _rot(c, 16); c = (c + b) & MASK
    b = (b - a) & MASK; b ^= _rot(a, 19); a = (a + c) & MASK
    c = (c - b) & MASK; c ^= _rot(b, 4); b = (b + a) & MASK
    return a, b, c


def _final(a: int, b: int, c: int) -> int:
    c ^= b; c = (c - _rot(b, 14)) & MASK
    a ^= c; a = (a - _rot(c, 11)) & MASK
    b ^= a; b = (b - _rot(a, 25)) & MASK
    c ^= b; c = (c - _rot(b, 16)) & MASK
    a ^= c; a = (a - _rot(c, 4)) & MASK
    b ^= a; b = (b - _rot(a, 14)) & MASK
    c ^= b; c = (c - _rot(b, 24)) & MASK
    return c


def _word(data: bytes, at: int, count: int = 4) -> int:
    return int.from_bytes(data[at:at + count], "little")


def hash_bytes(data: bytes) -> int:
    """PostgreSQL's ``hash_bytes`` on a little-endian machine, as an unsigned 32-bit value."""
    a = b = c = (0x9E3779B9 + len(data) + 3923095) & MASK
    at, left = 0, len(data)
    while left >= 12:
        a = (a + _word(data, at)) & MASK
        b = (b + _word(data, at + 4)) & MASK
        c = (c + _word(data, at + 8)) & MASK
        a, b, c = _mix(a, b, c)
        at, left = at + 12, left - 12
    # The last 11 bytes: the lowest byte of c is kept for the length, so c's bytes shift up by one.
    if left > 8:
        c = (c + (_word(data, at + 8, left - 8) << 8)) & MASK
    if left > 4:
        b = (b + _word(data, at + 4, min(left, 8) - 4)) & MASK
    if left > 0:
        a = (a + _word(data, at, min(left, 4))) & MASK
    return _final(a, b, c)


def hashtext(value: str) -> int:
    """``SELECT hashtext(value)``: the signed 32-bit hash Citus routes a text key by."""
    unsigned = hash_bytes(value.encode("utf-8"))
    return unsigned - HASH_SPACE if unsigned >= 1 << 31 else unsigned


def shard_index(hashed: int, shard_count: int) -> int:
    """The shard whose hash interval holds ``hashed`` (shards cut the int32 range evenly)."""
    if not INT32_MIN <= hashed < -INT32_MIN:
        raise ValueError(f"not a 32-bit hash: {hashed}")
    return (hashed - INT32_MIN) * shard_count // HASH_SPACE


def worker_of(shard: int, workers: int) -> int:
    """Citus places a new distributed table's shards on the workers round-robin."""
    return shard % workers
