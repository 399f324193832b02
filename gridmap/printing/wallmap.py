"""The 民情地图 as a wall map (挂图): an A3-landscape page rendered by headless Chromium
to PNG or PDF. No Flask, no DB: the caller passes the page HTML, whose map assets are
under /static/ as on the web page (Chromium's page server serves them)."""

from __future__ import annotations

from gridmap.printing.chromium import render

# A3 landscape, 420 × 297 mm, in CSS pixels (96 dpi); the PNG is drawn at SCALE × that.
PAGE_MM = (420, 297)
PAGE_PX = (1587, 1123)
SCALE = 2
# Time the page's scripts get (virtual time: Chromium fast-forwards timers) to draw the map.
SCRIPT_BUDGET_MS = 4000
# The page loads its map assets and needs time to draw before the capture.
_PAGE_FLAGS = [f"--window-size={PAGE_PX[0]},{PAGE_PX[1]}", "--hide-scrollbars",
               f"--virtual-time-budget={SCRIPT_BUDGET_MS}"]


def wall_png(page_html: str, timeout: float = 90, *, chromium: str | None = None) -> bytes:
    """The page as a PNG of PAGE_PX × SCALE pixels."""
    return render(page_html, "wall.png", [*_PAGE_FLAGS, f"--force-device-scale-factor={SCALE}",
                                          "--screenshot={target}"], timeout, chromium=chromium)


def wall_pdf(page_html: str, timeout: float = 90, *, chromium: str | None = None) -> bytes:
    """The page as a one-page A3-landscape PDF (the page's own @page rule sets the size)."""
    return render(page_html, "wall.pdf", [*_PAGE_FLAGS, "--no-pdf-header-footer", "--print-to-pdf={target}"], timeout,
                  chromium=chromium)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
