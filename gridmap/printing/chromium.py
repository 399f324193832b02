"""Headless Chromium as a renderer: an HTML page on disk in, a PDF or PNG out.

No Flask, no DB. Raises ``RenderError`` when Chromium is missing or fails; routes turn
that into a 503 with a Chinese message (pdf_unavailable).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# Flags that keep a headless Chromium quiet and offline (as root it also needs --no-sandbox).
BASE_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync"]


class RenderError(RuntimeError):
    pass


def chromium_path() -> str | None:
    configured = os.environ.get("GRIDMAP_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def render(page_html: str, output: str, flags: list[str], timeout: float = 90) -> bytes:
    """Render ``page_html`` with Chromium; ``{target}`` in ``flags`` becomes the output path."""
    browser = chromium_path()
    if browser is None:
        raise RenderError("chromium not found")
    with tempfile.TemporaryDirectory(prefix="gridmap-render-") as tmp:
        source, target = Path(tmp) / "page.html", Path(tmp) / output
        source.write_text(page_html, encoding="utf-8")
        command = [browser, *BASE_FLAGS, f"--user-data-dir={tmp}/profile",
                   *[flag.replace("{target}", str(target)) for flag in flags], source.as_uri()]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError) as error:
            raise RenderError(str(error)) from None
        if not target.exists() or target.stat().st_size == 0:
            raise RenderError(f"chromium wrote no {output}")
        return target.read_bytes()
