"""README shows every screenshot scripts/screenshots makes, and nothing that is not there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_shows_each_screenshot_once():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"!\[[^\]]+\]\((docs/screenshots/[^)]+)\)", readme)
    files = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs" / "screenshots").glob("*.png"))
    assert files, "no screenshots: run scripts/screenshots"
    assert sorted(shown) == files
    pages = {size: {name.removesuffix(f"-{size}.png") for name in files if name.endswith(f"-{size}.png")}
             for size in ("phone", "office")}
    assert pages["phone"] == pages["office"] and len(files) == 2 * len(pages["phone"]), "each page in both sizes"
