"""Errors of the file readers (gridmap.geo.io, its readers and guards), each a gridmap.messages code.

``FileFormatError``: the name's extension is not a supported format. ``FileReadError``: the
file cannot be read (``EmptyFileError``: it holds nothing). ``FileRefusedError``: the file is
refused before it is read, because its content is not what its extension says, an archive
is too large or malformed, or it carries something a data file must not (DTDs, paths, URLs).
"""

from __future__ import annotations

from typing import Any

from gridmap.messages import message


class GeoFileError(ValueError):
    """Base for file errors: ``code`` is a gridmap.messages key, ``params`` its fields."""

    code = "unreadable_file"

    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params
        super().__init__(message(code, **params))

    @property
    def message(self) -> str:
        return message(self.code, **self.params)


class FileFormatError(GeoFileError):
    """The file name's extension is not a supported format (``unsupported_file``)."""

    code = "unsupported_file"

    def __init__(self, filename: str):
        self.filename = filename
        super().__init__("unsupported_file", filename=filename)


class FileReadError(GeoFileError):
    """The file could not be read at all (``unreadable_file``). ``why`` is the gridmap.messages
    key saying why, ``why_params`` its fields; the catalogue's text is the ``reason`` param."""

    def __init__(self, why: str, **why_params: Any):
        self.why = why
        self.why_params = why_params
        super().__init__("unreadable_file", reason=message(why, **why_params))


class EmptyFileError(FileReadError):
    """The file was read but holds no features / data rows (``empty_file``)."""

    code = "empty_file"

    def __init__(self) -> None:
        self.why = "empty_file"
        self.why_params = {}
        GeoFileError.__init__(self, "empty_file")


TYPE_MISMATCH = "unreadable_file"  # the content is not the type the extension declares
ARCHIVE_REFUSED = "archive_refused"  # a zip over its bounds (members, size, ratio) or malformed
UNSAFE_CONTENT = "unsafe_file_content"  # DTDs/entities, paths or URLs where data belongs


class FileRefusedError(FileReadError):
    """Refused before reading: ``code`` is one of the three above; ``why`` (a gridmap.messages
    key, with ``why_params``) says why, its text the ``reason`` param."""

    def __init__(self, code: str, why: str, **why_params: Any):
        self.why = why
        self.why_params = why_params
        GeoFileError.__init__(self, code, reason=message(why, **why_params))
