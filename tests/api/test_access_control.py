"""Access, row by row: every API operation and every page refuses every role it does not list
(403), and README's access table is the one generated from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridmap.api import api_blueprints
from gridmap.apidoc import OPERATIONS, PUBLIC
from gridmap.auth.roles import ALL_ROLES
from gridmap.pages import PAGES
from gridmap.site import access_table, page_blueprints
from tests import factories as f

README = Path(__file__).resolve().parents[2] / "README.md"
PATH_VALUES = {"code": f.GRID_A, "id": "1", "household_code": "H-1", "n": "1", "member_id": "1"}

api_blueprints()  # registers every operation before the cases are listed
page_blueprints()  # and every page
CASES = [
    (op, role)
    for op in OPERATIONS if op.roles != PUBLIC
    for role in ALL_ROLES if role not in op.roles
]
PAGE_CASES = [
    (method, page.path, role)
    for page in PAGES if page.roles != PUBLIC
    for method in page.methods
    for role in ALL_ROLES if role not in page.roles
]


def _url(path: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: PATH_VALUES.get(m.group(1), "1"), path)


@pytest.fixture
def tokens(db_session):
    world = f.lishui(db_session)
    from gridmap.party.models import PartyMember

    member = PartyMember(name="党员甲", grid_id=world["grids"][f.GRID_A].id)
    db_session.add(member)
    db_session.flush()
    scopes = {"admin": "", "supervisor": f.DISTRICT, "planner": f.DISTRICT, "grid_worker": f.GRID_A,
              "party_member": f.GRID_A}
    tokens = {role: f.token_for(db_session, role, scope,
                                **({"party_member_id": member.id} if role == "party_member" else {}))
              for role, scope in scopes.items()}
    return {**tokens, "department": f.department_token(db_session, "chengguan", f.DISTRICT)}


@pytest.mark.parametrize("op, role", CASES, ids=[f"{op.method} {op.path} as {role}" for op, role in CASES])
def test_roles_not_listed_are_refused(client, tokens, op, role):
    response = client.open(_url(op.path), method=op.method, headers=f.auth(tokens[role]))
    assert response.status_code == 403, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("method, path, role", PAGE_CASES,
                         ids=[f"{m} {p} as {r}" for m, p, r in PAGE_CASES])
def test_pages_refuse_roles_not_listed(client, tokens, method, path, role):
    # gridmap.pages: the role is checked before anything else (a bearer token is a login too)
    response = client.open(_url(path), method=method, headers=f.auth(tokens[role]))
    assert response.status_code == 403, response.get_data(as_text=True)[:300]
    assert "您没有权限" in response.get_data(as_text=True)  # the 403 page, in Chinese


def test_every_page_route_is_declared(app):
    # no HTML route bypasses gridmap.pages.page (an @bp.get would skip its checks); routes outside
    # /api/ that are operations (OGC API – Features under /ogc, the vector tiles) are declared with apidoc.operation
    declared = {(m, p.path) for p in PAGES for m in p.methods}
    declared |= {(op.method, op.path) for op in OPERATIONS if not op.path.startswith("/api/")}
    routes = {(m, r.rule) for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}
              if not r.rule.startswith(("/api/", "/static/")) and r.rule != "/healthz"}
    assert routes == declared


def test_readme_access_table_is_generated_from_the_code():
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- access-table:start -->")[1].split("<!-- access-table:end -->")[0].strip()
    assert section == access_table(), "regenerate with: scripts/gridmap access-table"
