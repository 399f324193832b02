"""Scope, row by row: every GET operation on one grid answers 404 to a user whose scope
does not cover that grid — a grid worker of the neighbouring grid, a supervisor of
another street — and the grid's own worker is let in."""

from __future__ import annotations

import re

import pytest

from gridmap.api import api_blueprints
from gridmap.apidoc import OPERATIONS
from tests import factories as f

api_blueprints()
GRID_PATHS = sorted({op.path for op in OPERATIONS if op.method == "GET" and "<code>" in op.path})
OUTSIDERS = [("grid_worker", f.GRID_B), ("supervisor", f.OTHER_STREET), ("planner", f.OTHER_STREET)]


def _allowed(path: str, role: str) -> bool:
    return any(op.path == path and op.method == "GET" and role in op.roles for op in OPERATIONS)


@pytest.mark.parametrize("path", GRID_PATHS)
@pytest.mark.parametrize("role, scope", OUTSIDERS)
def test_a_grid_outside_the_callers_scope_is_404(client, db_session, path, role, scope):
    if not _allowed(path, role):
        pytest.skip(f"{role} may not call {path} at all (403, see test_access_control)")
    f.lishui(db_session)
    token = f.token_for(db_session, role, scope)
    response = client.get(re.sub(r"<code>", f.GRID_A, path), headers=f.auth(token))
    assert response.status_code == 404, (path, role, response.status_code)


@pytest.mark.parametrize("path", GRID_PATHS)
def test_the_grids_own_worker_is_let_in(client, db_session, path):
    if not _allowed(path, "grid_worker"):
        pytest.skip("not a grid worker's operation")
    f.lishui(db_session)
    token = f.token_for(db_session, "grid_worker", f.GRID_A)
    response = client.get(re.sub(r"<code>", f.GRID_A, path), headers=f.auth(token))
    assert response.status_code == 200, (path, response.status_code)


LISTS = ["/api/v1/grids", "/api/v1/hazards", "/api/v1/checkins", "/api/v1/households/outside-grids"]


@pytest.mark.parametrize("path", LISTS)
def test_a_within_filter_outside_the_scope_lists_nothing(client, db_session, path):
    f.lishui(db_session)
    token = f.token_for(db_session, "supervisor", f.STREET)
    response = client.get(path, query_string={"within": f.OTHER_STREET}, headers=f.auth(token))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == 0 and not body.get("items") and not body.get("features")
