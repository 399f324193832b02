"""Masking of names, phones and sensitive tags, and who may see them unmasked.

Admins, a grid worker in their own grid and a party member for their own contact
households see names, phones, tags and family risk levels as they are (and each such
read is audited). Supervisors see them masked unless they deliberately ask to unmask
(audited); planners never do. Masked, a sensitive tag (社区矫正 and the like) becomes
``MASKED_TAG``: the household still counts as one to look after, but not why (per grid
too: the sensitive tags' counts are folded into one); and its family risk level (a safety
assessment, sensitive as the tags are) is left out — per grid, counts by risk level stay. Public output (the wall map) carries
neither sensitive tags nor family risk levels.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import ColumnElement, Text, cast
from sqlalchemy.dialects.postgresql import ARRAY

from gridmap.auth.roles import ADMIN, GRID_WORKER, PARTY_MEMBER, PLANNER, SUPERVISOR
from gridmap.auth.scope import Scope
from gridmap.errors import Forbidden


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:] if len(digits) > 7 else digits[:3] + "****"
    return "*" * len(digits)


# Stored tags (data, not wording). FOCUS_TAGS: the sensitive ones and 重点人员, the tag a masked
# viewer sees in their place (a household may carry it itself): households to look after closely.
SENSITIVE_TAGS = frozenset({"社区矫正", "重点精神障碍", "刑满释放", "戒毒康复", "吸毒人员"})
FOCUS_TAGS = SENSITIVE_TAGS | {"重点人员"}
(MASKED_TAG,) = FOCUS_TAGS - SENSITIVE_TAGS
# The tags a grid worker adds without review: the everyday categories of the 3456 method and
# the seeds. Any other tag they add waits for the community's review, as a sensitive one does:
# no list of the sensitive tags' look-alikes, variants and synonyms (吸毐人员, 社矫人员, 严重精神
# 障碍患者 …) could be complete, so what is not known to be harmless is looked at.
EVERYDAY_TAGS = frozenset({"孤寡老人", "独居老人", "空巢老人", "留守儿童", "残疾人", "困难家庭", "低保户", "特困户",
                           "老党员", "失业", "下岗", "出租房", "流动人口", "退役军人", "军烈属", "高龄老人"})
# The sensitive tags in traditional characters: stored as the tag they name, so a look-alike
# cannot carry a sensitive label past the rules that hold it (review, masking, counts).
TRADITIONAL_SENSITIVE_TAGS = {"社區矯正": "社区矫正", "重點精神障礙": "重点精神障碍", "刑滿釋放": "刑满释放",
                              "戒毒康復": "戒毒康复", "吸毒人員": "吸毒人员"}


# What a tag never shows: format characters (zero-width spaces and joiners, BOM), combining marks
# (variation selectors among them: "社区矫正\ufe00" looks like the tag), control characters, and
# the letters and symbols that print as nothing (Hangul fillers, the braille blank, the object
# replacement character).
_UNSEEN_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Cc"})
_BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\ufffc")
# Forms that read as a sensitive tag's characters besides the traditional ones (區, 矯, 點 …):
# Japanese (満, 釈) and other variants.
VARIANTS_IN_SENSITIVE_TAGS = {"㸃": "点", "満": "满", "釈": "释", "複": "复", "覆": "复", "貟": "员"}
_FOLDED = str.maketrans({**{trad: simp for traditional, simplified in TRADITIONAL_SENSITIVE_TAGS.items()
                            for trad, simp in zip(traditional, simplified, strict=True) if trad != simp},
                         **VARIANTS_IN_SENSITIVE_TAGS})


_SENSITIVE_IN_ORDER = sorted(SENSITIVE_TAGS)  # a tag saying two of them is the first


def _ideographs(text: str) -> str:
    """The CJK ideographs of ``text``, variant forms folded: what a reader takes a tag to say."""
    ideographs = "".join(ch for ch in text if unicodedata.name(ch, "").startswith("CJK UNIFIED IDEOGRAPH"))
    return ideographs.translate(_FOLDED)


def normalise_tag(tag: str) -> str:
    """One spelling per tag: NFKC (full-width forms), none of the characters a tag never shows,
    no white space. A tag whose ideographs say a sensitive tag (with anything else around it, in
    traditional or variant forms, whole or in part) is that tag, so it is reviewed and masked as
    one: ``"社区\u200d矫正\u3000"``, ``"社区矫正\u3164"``, ``"社區矯正"``, ``"刑満釈放"`` and
    ``"社区矫正人员"`` are sensitive tags. Other tags keep their characters."""
    text = unicodedata.normalize("NFKC", tag)
    text = "".join(ch for ch in text
                   if unicodedata.category(ch) not in _UNSEEN_CATEGORIES and ch not in _BLANKS and not ch.isspace())
    said = _ideographs(text)
    return next((sensitive for sensitive in _SENSITIVE_IN_ORDER if sensitive in said), text)


def mask_tags(tags: list[str] | None, *, public: bool = False) -> list[str]:
    """Tags without the sensitive ones: replaced by one ``MASKED_TAG``, or dropped when public."""
    kept = [t for t in tags or () if t not in SENSITIVE_TAGS and t != MASKED_TAG]
    if not public and len(kept) < len(tags or ()):
        kept.append(MASKED_TAG)
    return kept


def shows_masked_tag(tags: ColumnElement[list[str]]) -> ColumnElement[bool]:
    """Rows a masked viewer sees tagged ``MASKED_TAG``: any sensitive tag in ``tags`` (a GIN index serves it)."""
    return tags.overlap(cast(sorted(SENSITIVE_TAGS | {MASKED_TAG}), ARRAY(Text)))


def mask_tag_counts(counts: dict[str, int], flagged: int) -> dict[str, int]:
    """Per-tag household counts as a masked viewer may see them: the sensitive tags folded into
    one ``MASKED_TAG`` count of the ``flagged`` households carrying any (a grid's 社区矫正 count
    next to its one household marked 重点人员 would say who it is), largest first."""
    kept = {t: n for t, n in counts.items() if t not in SENSITIVE_TAGS and t != MASKED_TAG}
    if flagged:
        kept[MASKED_TAG] = flagged
    return dict(sorted(kept.items(), key=lambda item: -item[1]))


def visit_tags_shown(visit_tags: tuple[str, ...] | list[str], *, unmasked: bool) -> list[str]:
    """The 五必访 tags (tags that require a monthly visit) a viewer's visit lists are built on:
    all of them unmasked; masked, none of the sensitive ones, not even as ``MASKED_TAG``: among
    the visit tags it would name the one sensitive tag there (社区矫正), and a household due only
    for it would say so by being listed at all."""
    return list(visit_tags) if unmasked else [t for t in visit_tags if t not in SENSITIVE_TAGS]


def household_person(tags: list[str] | None, head_name: str | None, phone: str | None, risk_level: str | None, *,
                     unmasked: bool, public: bool = False) -> dict[str, Any]:
    """A household's personal fields as a viewer may see them: as stored when ``unmasked``, else
    name and phone masked, sensitive tags hidden (dropped altogether on a public sheet) and
    no risk level."""
    if unmasked:
        return {"tags": list(tags or []), "head_name": head_name, "phone": phone, "risk_level": risk_level}
    return {"tags": mask_tags(tags, public=public), "head_name": mask_name(head_name), "phone": mask_phone(phone),
            "risk_level": None}


def sees_unmasked(scope: Scope, unmask_requested: bool) -> bool:
    """Whether household names and phones go out unmasked for this request."""
    if scope.role in (ADMIN, GRID_WORKER, PARTY_MEMBER):
        return True
    if scope.role == SUPERVISOR:
        return unmask_requested
    if scope.role == PLANNER and unmask_requested:
        raise Forbidden("forbidden")
    return False
