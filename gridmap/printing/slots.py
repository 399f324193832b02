"""At most N Chromium renders at once on a machine, across the threads of a worker and
across gunicorn's worker processes: N lock files in one directory, each held with a
non-blocking ``flock`` for the length of a render. A render that finds every slot taken
is refused at once (``RendersBusy``; ``print_in_slot`` makes it a 503 with Retry-After)
instead of queueing Chromiums until the machine runs out of memory.

``flock`` locks belong to an open file, not to a process, so two threads of one worker
exclude each other like two workers do, and a worker that dies releases its slot.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gridmap.config import Settings
from gridmap.errors import ServiceUnavailable
from gridmap.printing.chromium import RenderError

log = logging.getLogger(__name__)
RETRY_AFTER_S = 10  # a render takes a few seconds


class RendersBusy(RuntimeError):
    """Every render slot is taken."""


class RenderSlots:
    def __init__(self, count: int, directory: str | os.PathLike):
        self.count = max(1, count)
        self.directory = Path(directory)

    @contextmanager
    def hold(self) -> Iterator[int]:
        """Hold a free slot (its number) for the ``with`` block; ``RendersBusy`` when none is free."""
        self._ensure_directory()
        for slot in range(self.count):
            fd = os.open(self.directory / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield slot
            finally:
                os.close(fd)  # closing the file releases its lock
            return
        raise RendersBusy(f"all {self.count} render slots are taken")

    def _ensure_directory(self) -> None:
        """The directory, private to this user (another user must not hold our slots)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(self.directory)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
            raise PermissionError(f"render slot directory {self.directory} is not a private directory of this user")


def print_in_slot(render: Callable[..., bytes], page: str, *, settings: Settings, unavailable: str) -> bytes:
    """``render(page)`` in one of the machine's render slots: 503 with Retry-After when all
    are taken, 503 ``unavailable`` when Chromium is missing or fails."""
    try:
        with RenderSlots(settings.max_renders, settings.render_slot_dir).hold():
            return render(page, chromium=settings.chromium)
    except RendersBusy:
        raise ServiceUnavailable("renders_busy", details={"retry_after_s": RETRY_AFTER_S}, retry_after=RETRY_AFTER_S,
                                 seconds=RETRY_AFTER_S) from None
    except RenderError:
        log.exception("printing failed")
        raise ServiceUnavailable(unavailable) from None
