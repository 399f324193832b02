"""Every export and printable carries only what the viewer's role may see: household
names, phones, sensitive tags (社区矫正 …) and family risk levels are masked for supervisors
(unless they ask, audited) and planners (never); a grid worker sees them, and every
unmasked read leaves an audit row. The wall map is public: masked for everyone, no sensitive tags or risk levels,
nothing audited. The 平安报表 (CSV/XLSX) holds no personal data at all."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from gridmap.auth.models import AuditLog
from gridmap.auth.scope import Scope
from gridmap.party import service as party
from gridmap.printing import handbook, wallmap
from tests import factories as f

NAME, PHONE, TAG = "欧阳锋", "13912345678", "社区矫正"
SECRETS = (NAME, PHONE, TAG)


@pytest.fixture
def world(db_session, monkeypatch):
    # Chromium is not needed to see what goes into a PDF or PNG: capture the page it would print.
    monkeypatch.setattr(handbook, "html_to_pdf", lambda page, **_: page.encode())
    monkeypatch.setattr(wallmap, "wall_pdf", lambda page, **_: page.encode())
    monkeypatch.setattr(wallmap, "wall_png", lambda page, **_: page.encode())
    grids = f.lishui(db_session)["grids"]
    f.household(db_session, "S1", 119.882, 28.455, grids[f.GRID_A], head_name=NAME, phone=PHONE,
                tags=[TAG, "孤寡老人"], risk_level="high")
    f.household(db_session, "S2", 119.884, 28.455, grids[f.GRID_A], head_name="黄药师", phone="13900000002")
    db_session.commit()
    everything = Scope.everything()
    member = party.create_member(db_session, everything, {"name": "党员甲", "household_code": "S2"})["id"]
    party.set_contact(db_session, everything, member, "S1")
    tokens = {
        "grid_worker": f.token_for(db_session, "grid_worker", f.GRID_A),
        "supervisor": f.token_for(db_session, "supervisor", f.STREET),
        "planner": f.token_for(db_session, "planner", f.STREET),
        "admin": f.token_for(db_session, "admin"),
    }
    return {"member": member, "tokens": tokens}


@dataclass(frozen=True)
class Export:
    name: str
    url: str
    audit: str | None  # the audit row's object_type for an unmasked read; None: never unmasked
    risk: str | None = None  # how the export shows S1's risk level (a regex), if it shows risk levels


API_RISK = r'"risk_level":\s*"high"'
EXPORTS = [
    Export("grid household list (API)", f"/api/v1/grids/{f.GRID_A}/households", "grid_households", API_RISK),
    Export("party member's households (API)", "/api/v1/party-members/{member}/households", "party_member_households",
           API_RISK),
    # the household's own point (the legend lists every level, with 0 where none)
    Export("民情地图 page and its GeoJSON layers", f"/maps/grid/{f.GRID_A}", "grid_map", r'"k":\s*"高风险"'),
    Export("handbook and party-member cards (page)", f"/maps/grid/{f.GRID_A}/print", "grid_handbook"),
    Export("handbook and party-member cards (PDF)", f"/maps/grid/{f.GRID_A}/print.pdf", "grid_handbook"),
]
WALL = [f"/maps/grid/{f.GRID_A}/wall", f"/maps/grid/{f.GRID_A}/wall.png", f"/maps/grid/{f.GRID_A}/wall.pdf"]


def _text(response) -> str:
    """The export as text, JSON escapes undone (map pages embed their layers as JSON)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), response.get_data(as_text=True))


def _audits(db_session, object_type: str) -> int:
    return len(db_session.scalars(select(AuditLog).where(AuditLog.object_type == object_type,
                                                         AuditLog.action == "read_unmasked")).all())


def _get(client, world, url: str, role: str, query: str = ""):
    return client.get(url.format(member=world["member"]) + query, headers=f.auth(world["tokens"][role]))


@pytest.mark.parametrize("export", EXPORTS, ids=[e.name for e in EXPORTS])
@pytest.mark.parametrize("role", ["supervisor", "planner"])
def test_masked_for_a_role_that_may_not_see(client, db_session, world, export, role):
    text = _text(_get(client, world, export.url, role))
    assert not [s for s in SECRETS if s in text], export.name
    assert "欧**" in text, "the household is there, masked"
    assert export.risk is None or not re.search(export.risk, text), "no risk level"
    assert _audits(db_session, export.audit) == 0


@pytest.mark.parametrize("export", EXPORTS, ids=[e.name for e in EXPORTS])
def test_unmasked_for_the_grid_worker_and_audited(client, db_session, world, export):
    text = _text(_get(client, world, export.url, "grid_worker"))
    assert all(s in text for s in SECRETS), export.name
    assert export.risk is None or re.search(export.risk, text), "the risk level"
    assert _audits(db_session, export.audit) == 1


@pytest.mark.parametrize("export", EXPORTS, ids=[e.name for e in EXPORTS])
def test_a_supervisor_unmasks_deliberately_and_is_audited_a_planner_may_not(client, db_session, world, export):
    text = _text(_get(client, world, export.url, "supervisor", "?unmask=1"))
    assert all(s in text for s in SECRETS), export.name
    assert export.risk is None or re.search(export.risk, text), "the risk level"
    assert _audits(db_session, export.audit) == 1
    assert _get(client, world, export.url, "planner", "?unmask=1").status_code == 403


@pytest.mark.parametrize("url", WALL)
@pytest.mark.parametrize("role", ["grid_worker", "admin", "supervisor"])
def test_the_wall_map_is_public_masked_for_everyone_and_not_audited(client, db_session, world, url, role):
    text = _text(_get(client, world, url, role, "?unmask=1"))
    assert not [s for s in SECRETS if s in text]
    assert "欧**" in text
    assert db_session.scalars(select(AuditLog)).all() == []


def test_masked_minqing_map_shows_risk_levels_as_hidden_not_as_unassessed(client, world):
    masked = _text(_get(client, world, f"/maps/grid/{f.GRID_A}", "supervisor"))
    assert 'data-risk="hidden"' in masked and "已隐藏" in masked and 'data-risk="none"' not in masked
    unmasked = _text(_get(client, world, f"/maps/grid/{f.GRID_A}", "grid_worker"))
    assert re.search(r'data-risk="high"><span class="dot"[^>]*></span>高风险<span class="count">1<', unmasked)
    assert 'data-risk="hidden"' not in unmasked


@pytest.mark.parametrize("role", ["supervisor", "planner"])
def test_a_grids_tag_counts_fold_sensitive_tags_for_a_masked_viewer(client, world, role):
    # 社区矫正: 1 next to the one household marked 重点人员 would say who it is
    counts = _get(client, world, f"/api/v1/grids/{f.GRID_A}", role).get_json()["properties"]["tag_counts"]
    assert counts == {"孤寡老人": 1, "重点人员": 1}
    mine = _get(client, world, f"/api/v1/grids/{f.GRID_A}", "grid_worker").get_json()["properties"]["tag_counts"]
    assert mine == {TAG: 1, "孤寡老人": 1}


def test_wall_map_households_carry_no_sensitive_tag_or_risk_level(db_session, world):
    sheet = party.grid_sheet(db_session, Scope.everything(), f.GRID_A, public=True)
    props = {h["properties"]["code"]: h["properties"] for h in sheet["households"]["features"]}
    assert props["S1"]["tags"] == ["孤寡老人"] and props["S1"]["risk_level"] is None
    assert sheet["masked"] is True


def test_a_masked_sensitive_tag_still_marks_a_household_to_look_after(client, world):
    body = _get(client, world, f"/api/v1/grids/{f.GRID_A}/households", "supervisor").get_json()
    tags = {h["code"]: h["tags"] for h in body["items"]}
    assert tags["S1"] == ["孤寡老人", "重点人员"]
    # filtering by the tag would name its households: masked viewers may not
    assert _get(client, world, f"/api/v1/grids/{f.GRID_A}/households", "supervisor",
                f"?tag={TAG}").status_code == 403
    assert _get(client, world, f"/api/v1/grids/{f.GRID_A}/households", "grid_worker",
                f"?tag={TAG}").get_json()["total"] == 1
    # filtering by 重点人员 finds what the masked viewer sees as 重点人员 (as the grid's count says)
    focus = _get(client, world, f"/api/v1/grids/{f.GRID_A}/households", "supervisor", "?tag=重点人员").get_json()
    assert [h["code"] for h in focus["items"]] == ["S1"]


PATROL_LISTS = {
    "/api/v1/patrol/coverage": lambda body: [t for g in body["grids"] for d in g["due"] for t in d["tags"]],
    "/api/v1/patrol/households?lon=119.882&lat=28.455": lambda body: [t for h in body["items"]
                                                                       for t in h["visit_tags"]],
}


@pytest.mark.parametrize("url", sorted(PATROL_LISTS))
def test_patrol_lists_mask_sensitive_tags_for_supervisors(client, world, url):
    tags = PATROL_LISTS[url]
    # not even 重点人员: among the 五必访 tags it could only mean 社区矫正 (tests/security/test_scope_structure.py)
    assert sorted(tags(_get(client, world, url, "supervisor").get_json())) == ["孤寡老人"]
    assert sorted(tags(_get(client, world, url, "grid_worker").get_json())) == ["孤寡老人", TAG]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_safety_report_carries_no_personal_data(client, world, fmt):
    response = _get(client, world, f"/api/v1/reports/safety?format={fmt}", "admin")
    assert response.status_code == 200
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(response.data))
        text = "\n".join(str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row)
    else:
        text = response.get_data(as_text=True)
    assert f.GRID_A in text  # the grid's row is there
    assert not [s for s in (*SECRETS, "黄药师", "S1") if s in text]
