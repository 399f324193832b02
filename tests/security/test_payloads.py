"""Text is text everywhere: every payload, planted through every free-text field, is opened on
every HTML page and export as every role in Chromium. Fails on any executed payload (a call
of window.__pwned, a dialog), any Content-Security-Policy violation (an escape missed, even
if the CSP stopped it), any script error, and any live formula in a CSV/XLSX export; and
checks each field's payloads are shown as literal text somewhere (so the test is not vacuous).
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from gridmap.escape import FORMULA_STARTS
from tests import factories as f
from tests.browser.conftest import Offline, artifacts, browser, live_db, live_server  # noqa: F401 (fixtures)
from tests.security.payload_support import FIELDS, PASSWORD, PAYLOADS, ROLES, planted, plant

# Every page for every role: minutes, not seconds, and it grows with each page (the suite's 300 s per test
# is too tight for it on a loaded machine).
pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]

INIT = """
window.__pwnedCalls = [];
window.__pwned = function (n) { window.__pwnedCalls.push(n); };
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.sample || e.blockedURI));
});
"""

# Every popup and tooltip of every Leaflet map, rendered the way Leaflet renders it (a string
# as innerHTML, a function called, an element as is) into a hidden box, so text that only
# shows on a click is parsed and checked too.
PROBE = """
() => {
  const box = document.createElement("div");
  box.id = "payload-probe"; box.hidden = true; document.body.appendChild(box);
  const seen = new Set();
  let opened = 0;
  const render = (content) => {
    const div = document.createElement("div");
    if (content instanceof Node) div.appendChild(content.cloneNode(true)); else div.innerHTML = String(content);
    box.appendChild(div);
    opened++;
  };
  // A group's popup function is called with the feature layer the click reached.
  const visit = (layer, inherited) => {
    if (!layer || seen.has(layer)) return;
    seen.add(layer);
    const functions = inherited.slice();
    for (const getter of ["getPopup", "getTooltip"]) {
      const bound = layer[getter] && layer[getter]();
      if (!bound) continue;
      const content = bound.getContent();
      if (typeof content === "function") functions.push(content);
      else render(content);
    }
    if (layer.feature) functions.forEach((fn) => render(fn(layer)));
    if (layer.getLayers) layer.getLayers().forEach((child) => visit(child, functions));
  };
  if (window.L) for (const key of Object.keys(window)) {
    if (window[key] instanceof L.Map) window[key].eachLayer((layer) => visit(layer, []));
  }
  return opened;
}
"""

TEXT = """
() => {
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll("script, style").forEach((e) => e.remove());
  return clone.textContent;
}
"""

# The GET routes that answer HTML, and the exports; a new route fails test_every_route_is_visited.
HTML_RULES = {"/", "/account/password", "/admin/audit", "/hazards", "/hazards/<int:hazard_id>", "/hazards/new", "/inbox", "/login",
              "/households/new", "/households/approvals", "/households/<household_code>/edit",
              "/households/<household_code>/history", "/maps/area/<code>", "/maps/grid/<code>", "/maps/grid/<code>/print",
              "/maps/grid/<code>/wall", "/maps/hazards", "/maps/patrol", "/party/visits", "/patrol", "/patrol-plans",
              "/planner/<code>", "/reports/safety", "/reports/safety/trend", "/r/<grid_code>", "/r/status/<tracking_code>",
              "/hazards/<int:hazard_id>/revisit", "/department", "/department-routes"}
EXPORT_RULES = {"/maps/grid/<code>/print.pdf", "/maps/grid/<code>/wall.png", "/maps/grid/<code>/wall.pdf",
                "/maps/grid/<code>/handovers/<int:handover_id>.pdf", "/api/v1/reports/safety"}
NOT_PAGES = {"/healthz", "/patrol/sw.js", "/static/<path:filename>"}


@pytest.fixture(scope="module")
def world(app, live_db):
    return plant(app, live_db)


def _pages(world, role: str) -> list[str]:
    hazards = world.hazards if role == "admin" else world.hazards[:1]
    grid_new, community_new = world.new_grids[0], world.new_communities[0]
    pages = ["/", "/account/password", "/admin/audit", "/hazards", "/hazards/new", "/inbox", "/login", "/maps/area/all", f"/maps/area/{f.STREET}",
             "/maps/hazards", "/maps/patrol", f"/maps/patrol?date={world.patrol_day}", "/party/visits", "/patrol",
             "/patrol-plans", f"/planner/{f.COMMUNITY}", f"/planner/{community_new}",
             "/reports/safety", "/reports/safety/trend?count=2", "/department", "/department?done=1", "/department-routes"]
    pages += [f"/hazards/{h}" for h in hazards]
    # the residents' pages (no login; a payload-named grid's form, a status page)
    pages += [f"/r/{f.GRID_A}", f"/r/{grid_new}", f"/r/status/{world.tracking_codes[0]}"]
    pages += ["/households/new", "/households/approvals", "/households/PE-0/edit"]
    pages += [f"/households/PE-{i}/history" for i in (range(len(PAYLOADS)) if role == "admin" else range(1))]
    # the replies on every status page, and the 回访 page (phone, reply, description) of a resident's item
    pages += [f"/r/status/{code}" for code in world.tracking_codes[1:]] if role == "admin" else []
    pages += [f"/hazards/{world.resident_hazards[0]}/revisit"]
    for grid in (f.GRID_A, grid_new):
        pages += [f"/maps/grid/{grid}", f"/maps/grid/{grid}/print", f"/maps/grid/{grid}/wall"]
    if role == "admin":
        pages += [f"/maps/area/{f.OTHER_STREET}", f"/maps/grid/{world.new_grids[-1]}"]
    return pages


def _live_formulas(rows: list[list]) -> list:
    return [cell for row in rows for cell in row if isinstance(cell, str) and cell and cell[0] in FORMULA_STARTS]


def test_no_payload_runs_on_any_page_or_export_for_any_role(browser, live_server, world, artifacts):
    problems: list[str] = []
    shown: dict[str, str] = {}            # planted value → first page showing it as text
    visits = exports = 0
    for username, (role, _scope) in ROLES.items():
        tab = Offline(browser, live_server, viewport={"width": 1200, "height": 800})
        dialogs: list[str] = []
        tab.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        tab.context.add_init_script(INIT)
        tab.log_in(username, "/hazards", PASSWORD)
        for path in _pages(world, role):
            tab.console_errors.clear()
            response = tab.page.goto(f"{live_server}{path}", wait_until="load")
            if response.status >= 500:  # a payload may not break a page either (403/404 pages are probed too)
                problems.append(f"{username} {path}: HTTP {response.status}")
                continue
            tab.page.evaluate(PROBE)
            tab.page.wait_for_timeout(150)  # error events of images the probe created
            where = f"{username} {path}"
            calls = tab.page.evaluate("() => window.__pwnedCalls")
            violations = tab.page.evaluate("() => window.__violations")
            errors = [e for e in tab.console_errors if not e.startswith("Failed to load resource")]
            if calls or violations or dialogs or errors:
                problems.append(f"{where}: pwned {calls} CSP {violations} dialogs {dialogs} errors {errors}")
            dialogs.clear()
            text = tab.page.evaluate(TEXT)
            for key in FIELDS:
                for value in planted(key):
                    if value in text:
                        shown.setdefault(value, where)
            visits += 1
        for fmt in ("csv", "xlsx"):
            answer = tab.page.request.get(f"{live_server}/api/v1/reports/safety?format={fmt}&within={f.DISTRICT}")
            if answer.status in (403, 404):
                continue
            assert answer.status == 200, (role, fmt, answer.status)
            rows = _rows(answer.body(), fmt)
            problems += [f"{username} safety.{fmt}: live formula {cell!r}" for cell in _live_formulas(rows)]
            cells = {str(c) for row in rows for c in row}
            for key in ("gn", "cn"):
                for value in planted(key):
                    if "'" + value in cells or value in cells:
                        shown.setdefault(value, f"{username} safety.{fmt}")
            exports += 1
        tab.close()
    missing = {key: [v for v in planted(key) if v not in shown] for key in FIELDS}
    missing = {key: values for key, values in missing.items() if values}
    fields_planted = sum(len(planted(key)) for key in FIELDS)
    counts = {"payloads": len(PAYLOADS), "fields": len(FIELDS), "planted_values": fields_planted,
              "roles": len(ROLES), "page_visits": visits, "export_downloads": exports,
              "distinct_paths": len({p for r in ROLES.values() for p in _pages(world, r[0])})}
    (artifacts / "payload-counts.json").write_text(json.dumps(counts, ensure_ascii=False, indent=1))
    print("payload catalogue:", counts)
    assert problems == [], "\n".join(problems)
    assert missing == {}, missing


def _rows(body: bytes, fmt: str) -> list[list]:
    if fmt == "csv":
        return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    from openpyxl import load_workbook

    # A formula cell's value is its "=..." text, so _live_formulas finds it as in a CSV.
    return [[cell.value for cell in row] for row in load_workbook(io.BytesIO(body)).active.iter_rows()]


def test_printed_exports_render_with_the_payloads(app, world):
    """The PDF handbook and the PNG/PDF wall map are Chromium prints of the pages visited above
    (their HTML is the same template); here they must still render with every payload in."""
    from tests.security.payload_support import Api

    admin = Api(app, "p-admin")
    # 责任交接单: a snapshot of the planted grid (staff, households, hazards, contacts), printed.
    handover = admin.client.post(f"/api/v1/grids/{f.GRID_A}/handovers", headers=admin.headers).get_json()["id"]
    for path, magic in ((f"/maps/grid/{f.GRID_A}/print.pdf", b"%PDF"), (f"/maps/grid/{f.GRID_A}/wall.png", b"\x89PNG"),
                        (f"/maps/grid/{f.GRID_A}/handovers/{handover}.pdf", b"%PDF")):
        answer = admin.client.get(path, headers=admin.headers)
        assert answer.status_code == 200 and answer.data.startswith(magic), (path, answer.status_code)


def test_every_route_is_visited(app):
    rules = {r.rule for r in app.url_map.iter_rules() if "GET" in r.methods}
    # OGC API – Features answers JSON and the tiles are binary: like /api/, no page renders them
    pages = {r for r in rules if not r.startswith(("/api/", "/ogc", "/tiles/"))} - NOT_PAGES
    assert pages == HTML_RULES | (EXPORT_RULES - {"/api/v1/reports/safety"}), sorted(pages)
    assert "/api/v1/reports/safety" in rules
