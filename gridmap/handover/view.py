"""A handover's snapshot as a viewer may see it: as stored when unmasked, else household heads'
names and phones masked, sensitive tags folded into one (gridmap.auth.masking). Party members'
and staff names and phones are the contact handbook's and stay as they are."""

from __future__ import annotations

from typing import Any

from gridmap.auth.masking import SENSITIVE_TAGS, mask_name, mask_phone, mask_tag_counts


def _household(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "head_name": mask_name(row.get("head_name")), "phone": mask_phone(row.get("phone"))}


def _visits_due(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Masked, the 五必访 list counts only the visit tags that are not sensitive (as the patrol
    module's lists do): a household due only for 社区矫正 would say so by being listed at all."""
    out = []
    for row in rows:
        tags = [t for t in row["tags"] if t not in SENSITIVE_TAGS]
        if tags:
            out.append({**_household(row), "tags": tags})
    return out


def shown(snapshot: dict[str, Any], *, unmasked: bool) -> dict[str, Any]:
    """``snapshot`` for a viewer; ``masked`` says which way it went."""
    if unmasked:
        return {**snapshot, "masked": False}
    households = snapshot["households"]
    return {
        **snapshot, "masked": True,
        "households": {**households, "by_tag": mask_tag_counts(households["by_tag"], households["flagged"])},
        "visits_due": _visits_due(snapshot["visits_due"]),
        "contacts_due": [_household(h) for h in snapshot["contacts_due"]],
        "contacts": [{**m, "households": [_household(h) for h in m["households"]]} for m in snapshot["contacts"]],
    }


def households_shown(snapshot: dict[str, Any]) -> list[str]:
    """The codes of the households a snapshot names with their people (what an unmasked read shows)."""
    rows = [*snapshot["visits_due"], *snapshot["contacts_due"],
            *(h for member in snapshot["contacts"] for h in member["households"])]
    return sorted({row["code"] for row in rows if row.get("code")})
