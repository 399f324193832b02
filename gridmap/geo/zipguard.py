"""Zip archives from uploads (zipped Shapefile, KMZ, XLSX), bounded before anything is read.

``open_archive`` checks the central directory: how many members, their declared total size,
each large member's compression ratio, and every member's name (no absolute path, no
``..``, no backslash or control character, nothing GDAL would take for a virtual file
system or a URL). Declared sizes can lie, so every read here (``read_member``,
``extract_member``, ``verify_members``) counts the bytes it actually decompresses and stops
at the member's declared size and at the archive's total. Pure: no Flask, no database.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from gridmap.geo.file_errors import ARCHIVE_REFUSED, TYPE_MISMATCH, UNSAFE_CONTENT, FileRefusedError
from gridmap.labels import label

ZIP_MAGIC = b"PK\x03\x04"
MiB = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 1_000
    max_total: int = 1 << 30  # declared and actual uncompressed bytes of the whole archive
    max_ratio: int = 200  # uncompressed : compressed, for members above ratio_floor
    ratio_floor: int = 1 * MiB


LIMITS = ZipLimits()
_CHUNK = 1 << 16
_BAD_NAME = re.compile(r"(^|/)\.\.(/|$)|^/|^[A-Za-z]:|[\\\x00-\x1f\x7f]|/vsi|://", re.IGNORECASE)


def _refuse(why: str, **params: object) -> FileRefusedError:
    return FileRefusedError(ARCHIVE_REFUSED, why, **params)


def is_zip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == ZIP_MAGIC


def safe_member_name(name: str) -> bool:
    """A relative path inside the archive that names nothing outside it."""
    return bool(name) and not _BAD_NAME.search(name)


def open_archive(path: str, kind: str, limits: ZipLimits = LIMITS) -> zipfile.ZipFile:
    """The archive, opened once its magic bytes and central directory are within ``limits``.
    ``kind`` is what the upload is (a gridmap.labels "archive" code: shapefile_zip, kmz, xlsx)."""
    if not is_zip(path):
        raise FileRefusedError(TYPE_MISMATCH, "mismatch_zip", kind=label(kind, "archive"))
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise _refuse("zip_broken", kind=label(kind, "archive")) from None
    try:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise _refuse("zip_too_many_members", count=len(infos), limit=limits.max_members)
        total = 0
        for info in infos:
            if not safe_member_name(info.filename):
                raise FileRefusedError(UNSAFE_CONTENT, "zip_member_name_unsafe", name=info.filename[:80])
            total += info.file_size
            if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise _refuse("zip_ratio", name=info.filename[:80], ratio=limits.max_ratio)
        if total > limits.max_total:
            raise _refuse("zip_too_large", size_mb=total // MiB, limit_mb=limits.max_total // MiB)
    except BaseException:
        zf.close()
        raise
    return zf


class _Budget:
    """Bytes left for the whole archive, shared by every read of it."""

    def __init__(self, limits: ZipLimits):
        self.left = limits.max_total

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise _refuse("zip_actual_too_large")


def _copy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, out: BinaryIO | None, budget: _Budget) -> int:
    """Stream one member into ``out`` (or nowhere), counting what is really decompressed."""
    done = 0
    try:
        with zf.open(info) as src:
            while chunk := src.read(_CHUNK):
                done += len(chunk)
                budget.take(len(chunk))
                if done > info.file_size:
                    raise _refuse("zip_member_size_lies", name=info.filename[:80])
                if out is not None:
                    out.write(chunk)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, ValueError, RuntimeError, OSError) as exc:
        if isinstance(exc, FileRefusedError):
            raise
        raise _refuse("zip_member_unreadable", name=info.filename[:80]) from None
    return done


class Reader:
    """Bounded reads from one checked archive (the budget is the archive's actual total)."""

    def __init__(self, zf: zipfile.ZipFile, limits: ZipLimits = LIMITS):
        self.zf = zf
        self.budget = _Budget(limits)

    def read_member(self, name: str) -> bytes:
        out = io.BytesIO()
        _copy(self.zf, self.zf.getinfo(name), out, self.budget)
        return out.getvalue()

    def extract_member(self, name: str, target: str) -> None:
        """Write the member to ``target`` (a path the caller chose, never the member's name)."""
        with open(target, "wb") as out:
            _copy(self.zf, self.zf.getinfo(name), out, self.budget)

    def verify_members(self) -> None:
        """Decompress every member once (CRC checked), before a library that reads the zip itself."""
        for info in self.zf.infolist():
            _copy(self.zf, info, None, self.budget)


__all__ = ["LIMITS", "ZIP_MAGIC", "Reader", "ZipLimits", "is_zip", "open_archive", "safe_member_name"]
