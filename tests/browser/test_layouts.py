"""Every page fits a phone and an office screen (issue #19): every HTML page the page registry
declares is opened as every role that may open it, at 360×640, 390×844 and 1366×768, and fails
on horizontal overflow, a title narrower than 120 px, a map under 60% of a phone's height, or a
touch target of the header or a toolbar under 40 px or a layer list or legend left open over
the map on a phone."""

from __future__ import annotations

import re

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from gridmap.auth.roles import ALL_ROLES
from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.apidoc import PUBLIC
from gridmap.hazards import service as hazards
from gridmap.pages import PAGES
from gridmap.party.models import PartyMember
from gridmap.site import page_blueprints
from tests import factories as f

pytestmark = pytest.mark.browser

SIZES = ((360, 640), (390, 844), (1366, 768))
PHONE_WIDTH = 700
PASSWORD = "pass-word-1"
SCOPES = {"admin": "", "supervisor": f.DISTRICT, "planner": f.COMMUNITY, "grid_worker": f.GRID_A,
          "party_member": f.GRID_A}
# Printed, not browsed: A3/A4 layouts and their files.
PRINT_ONLY = {"/maps/grid/<code>/wall", "/maps/grid/<code>/wall.png", "/maps/grid/<code>/wall.pdf",
              "/maps/grid/<code>/print.pdf", "/maps/grid/<code>/handovers/<int:handover_id>.pdf", "/patrol/sw.js"}
CODES = {"/maps/area/<code>": "all", "/planner/<code>": f.COMMUNITY}

page_blueprints()  # registers every page

MEASURE = """
() => {
  const box = (e) => e.getBoundingClientRect();
  const shown = (e) => { const r = box(e); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden"; };
  const title = [...document.querySelectorAll("main h1")].find(shown);
  const map = document.body.classList.contains("map-page")  // a map page: the map is the page
    ? [...document.querySelectorAll(".folium-map, .leaflet-container")].find(shown) : null;
  const targets = [];
  for (const bar of document.querySelectorAll("header, .toolbar")) {
    for (const e of bar.querySelectorAll("a, button, input, select, summary")) {
      if (e.type === "hidden" || !shown(e)) continue;
      const r = box(e.closest("label") || e);   // a label takes the tap for its input
      targets.push({what: (e.textContent || e.name || e.id || e.tagName).trim().slice(0, 20),
                    w: Math.round(r.width), h: Math.round(r.height)});
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: innerWidth, innerHeight: innerHeight,
          title: title ? Math.round(box(title).width) : null,
          map: map ? Math.round(box(map).height) : null, targets: targets,
          unfolded: [...document.querySelectorAll(".leaflet-control-layers-expanded, details.map-fold[open]")]
            .filter(shown).map((e) => e.className)};
}
"""


@pytest.fixture(scope="module")
def world(live_db):
    data = f.lishui(live_db)
    grid = data["grids"][f.GRID_A]
    for i in range(20):
        f.household(live_db, f"LY-{i:03d}", 119.8812 + (i % 5) * 0.0015, 28.4512 + (i // 5) * 0.002, grid,
                    head_name=f"住户{i}", phone=f"1380000{i:04d}", address=f"丽水市莲都区丽阳街8号{i + 1}幢101")
    member = PartyMember(name="党员甲", phone="13700000000", branch="一支部", grid_id=grid.id,
                         geom=from_shape(Point(119.8825, 28.455), srid=4326))
    live_db.add(member)
    live_db.flush()
    hazard = hazards.report(live_db, Scope.everything(), category="fire", severity="normal",
                            description="楼道堆放杂物", lon=119.8831, lat=28.4551, crs=None)
    for role, scope in SCOPES.items():
        create_user(live_db, f"lay-{role}", PASSWORD, role, scope, f"{role} 测试",
                    party_member_id=member.id if role == "party_member" else None)
    live_db.commit()
    return {"hazard_id": hazard["id"]}


def _pages(role: str, world) -> list[str]:
    values = {"code": f.GRID_A, "hazard_id": str(world["hazard_id"]), "household_code": "LY-000"}
    urls = []
    for p in PAGES:
        if "GET" not in p.methods or p.path in PRINT_ONLY or p.roles == PUBLIC or role not in p.roles:
            continue
        urls.append(CODES.get(p.path) and p.path.replace("<code>", CODES[p.path])
                    or re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], p.path))
    return urls


def _problems(url: str, size: tuple[int, int], m: dict) -> list[str]:
    width, height = size
    where = f"{url} at {width}×{height}"
    problems = []
    if m["scrollWidth"] > m["innerWidth"]:
        problems.append(f"{where}: page {m['scrollWidth']} px wide in {m['innerWidth']}")
    if m["title"] is not None and m["title"] < 120:
        problems.append(f"{where}: title {m['title']} px wide")
    if width < PHONE_WIDTH:
        if m["map"] is not None and m["map"] < 0.6 * m["innerHeight"]:
            problems.append(f"{where}: map {m['map']} px high in {m['innerHeight']}")
        if m["unfolded"]:
            problems.append(f"{where}: layer list or legend open over the map: {m['unfolded']}")
        small = [t for t in m["targets"] if t["w"] < 40 or t["h"] < 40]
        if small:
            problems.append(f"{where}: touch targets under 40 px: {small}")
    return problems


def test_every_page_fits_every_screen_for_every_role(browser, live_server, world, artifacts):
    problems: list[str] = []
    visits = maps = 0
    for role in ALL_ROLES:
        login = browser.new_context(locale="zh-CN")
        tab = login.new_page()
        tab.goto(f"{live_server}/login")
        tab.fill("input[name=username]", f"lay-{role}")
        tab.fill("input[name=password]", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_load_state()
        state = login.storage_state()
        login.close()
        for size in SIZES:
            context = browser.new_context(locale="zh-CN", storage_state=state,
                                          viewport={"width": size[0], "height": size[1]}, has_touch=size[0] < PHONE_WIDTH)
            context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
            tab = context.new_page()
            for url in _pages(role, world):
                answer = tab.goto(f"{live_server}{url}")
                assert answer.status == 200, (role, url, answer.status)
                tab.wait_for_load_state("load")
                measured = tab.evaluate(MEASURE)
                visits += 1
                maps += measured["map"] is not None
                found = _problems(url, size, measured)
                if found:
                    tab.screenshot(path=str(artifacts / f"layout-{role}-{size[0]}-{url.strip('/').replace('/', '_') or 'home'}.png"))
                problems += [f"{role}: {p}" for p in found]
            context.close()
    # the login page, logged out
    for size in SIZES:
        context = browser.new_context(locale="zh-CN", viewport={"width": size[0], "height": size[1]})
        tab = context.new_page()
        tab.goto(f"{live_server}/login")
        problems += _problems("/login", size, tab.evaluate(MEASURE))
        context.close()
    assert visits >= 100 and maps >= 50, (visits, maps)  # every role's pages, maps among them
    assert problems == [], "\n".join(problems)
