"""Every link in the top navigation opens for the role that sees it."""

from __future__ import annotations

import re

import pytest

from gridmap.auth.service import create_user
from tests import factories as f
from tests.api.test_pages import _login

ROLES = [("admin", ""), ("supervisor", f.DISTRICT), ("planner", f.COMMUNITY), ("grid_worker", f.GRID_A)]


@pytest.mark.parametrize("role, scope", ROLES)
def test_every_navigation_link_opens(client, db_session, role, scope):
    f.lishui(db_session)
    create_user(db_session, f"nav-{role}", "pass-word-1", role, scope)
    _login(client, f"nav-{role}", "pass-word-1")
    home = client.get("/", follow_redirects=True)
    html = home.get_data(as_text=True)
    nav = re.search(r'<nav class="mainnav">(.*?)</nav>', html, re.S).group(1)
    links = re.findall(r'href="([^"]+)"', nav)
    assert links, html[:500]
    for link in links:
        assert client.get(link).status_code == 200, (role, link)
