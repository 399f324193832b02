"""The printed handbook of a grid (网格干部联系手册) and its party-member contact cards
(党员联系卡): plain data shaped for the print template, a QR code as inline SVG, and the
PDF made by headless Chromium. No Flask, no DB: callers pass the (already masked) sheet
from ``gridmap.party.service.grid_sheet``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import qrcode
import qrcode.image.svg

from gridmap.addresses.parts import ADDRESS_ALIASES, split_address
from gridmap.printing.chromium import render

CARD_HOUSEHOLDS_MAX = 12  # a card lists this many; more are summarised (a member has ~10)


@dataclass
class Building:
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)


def _common_prefix(names: list[str]) -> str:
    if len(names) < 2:
        return ""
    prefix = os.path.commonprefix(names)
    cut = max(prefix.rfind(ch) for ch in ADDRESS_ALIASES["region"])  # keep the street and compound names
    return prefix[:cut + 1] if cut >= 0 else ""


def buildings(households: dict) -> list[Building]:
    """Households grouped by building, buildings and rows in address order."""
    groups: dict[str, Building] = {}
    for feature in households.get("features") or []:
        p = feature.get("properties") or {}
        name, rest = split_address(p.get("address") or "")
        groups.setdefault(name, Building(name)).rows.append({**p, "room": rest})
    result = sorted(groups.values(), key=lambda b: _natural(b.name))
    prefix = _common_prefix([b.name for b in result])
    for b in result:
        b.rows.sort(key=lambda r: _natural(r.get("room") or ""))
        b.name = b.name[len(prefix):] or b.name
    return result


def _natural(text: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def cards(households: dict, members: dict) -> list[dict[str, Any]]:
    """One card per party member with the households they look after."""
    by_member: dict[Any, list[dict]] = {}
    for feature in households.get("features") or []:
        p = feature.get("properties") or {}
        if p.get("member_id") is not None:
            by_member.setdefault(p["member_id"], []).append(p)
    out = []
    for feature in members.get("features") or []:
        p = feature.get("properties") or {}
        rows = sorted(by_member.get(p.get("id"), []), key=lambda r: _natural(r.get("address") or ""))
        out.append({**p, "rows": rows[:CARD_HOUSEHOLDS_MAX], "more": max(0, len(rows) - CARD_HOUSEHOLDS_MAX),
                    "count": len(rows)})
    return out


def qr_svg(url: str) -> str:
    """An inline SVG QR code (no Pillow needed)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    svg = image.to_string(encoding="unicode")
    return re.sub(r"^<\?xml[^>]*>\s*", "", svg)


def html_to_pdf(page_html: str, timeout: float = 90, *, chromium: str | None = None) -> bytes:
    """Print a self-contained HTML page (inline CSS and SVG, nothing to fetch) to A4 PDF."""
    return render(page_html, "page.pdf", ["--no-pdf-header-footer", "--print-to-pdf={target}"], timeout,
                  chromium=chromium)


_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def pdf_page_count(data: bytes) -> int:
    """Pages in a PDF as Chromium writes it (page objects are not compressed)."""
    return len(_PAGE.findall(data))
