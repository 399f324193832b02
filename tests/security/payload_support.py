"""The payload catalogue and the world it is planted in (tests/security/test_payloads.py).

Every payload goes through every free-text field a user can write, through the same door a
user would use: the API operations (hazards, actions, check-ins, key places, party members,
grid staff, the planner's new grid, new households and their edits and decisions, party visits, fixes on the spot,
督办 notes, 吹哨 notes and 撤回 reasons, departments' feedback, routing rule names), the import files (grids and communities, households),
and the CLI's user creation (display names). Each planted value is the payload plus a short
tag naming its field, so a page that shows it proves which field reached it.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text

from gridmap.auth.service import create_user
from gridmap.clock import today
from tests import factories as f

PASSWORD = "pass-word-1"

# (payload, what it attacks). window.__pwned(n) is recorded by the page's init script.
PAYLOADS: tuple[tuple[str, str], ...] = (
    ("<img src=x onerror=window.__pwned(1)>", "HTML element with a handler"),
    ("${window.__pwned(2)}", "template-literal interpolation"),
    ("`;window.__pwned(3);`", "backtick breakout"),
    ("</script><script>window.__pwned(4)</script>", "script element breakout"),
    ("\"'><svg onload=window.__pwned(5)>", "attribute breakout"),
    ("javascript:window.__pwned(6)", "javascript: URL"),
    ("';window.__pwned(7);'", "single-quoted string breakout"),
    ("\\\";window.__pwned(8);//", "backslash and double-quoted string breakout"),
    ('=HYPERLINK("http://127.0.0.1/x","y")', "spreadsheet formula (link)"),
    ("=1+1", "spreadsheet formula"),
    ("@SUM(1)", "spreadsheet formula (@)"),
    ("+cmd", "spreadsheet formula (+)"),
    ("-2+3", "spreadsheet formula (-)"),
    ("{{ 7*7 }}", "server-side template expression (ran on the server: folium re-evaluated rendered text)"),
    ("{% endraw %}{{", "server-side template syntax error (was a 500)"),
    ("@import url(//127.0.0.1:9/x.css)", "CSS fetch from another host (was a 500: the offline guard read it as the page's)"),
)

# field key → (description, maximum length the operation accepts)
FIELDS: dict[str, tuple[str, int]] = {
    "hz": ("hazard description (POST /hazards)", 2000),
    "ha": ("hazard action note (POST /hazards/<id>/actions)", 2000),
    "sv": ("supervise note (POST /hazards/<id>/actions, action supervise)", 2000),
    "os": ("description of a fix on the spot (POST /hazards/on-the-spot, multipart)", 2000),
    "ci": ("check-in note (POST /checkins)", 1000),
    "kn": ("key place name (POST /grids/<code>/key-places)", 128),
    "ka": ("key place address", 256),
    "kt": ("key place note", 500),
    "pn": ("party member name (POST /party-members)", 64),
    "pp": ("party member phone", 32),
    "pb": ("party member branch", 128),
    "sn": ("grid staff name (PUT /grids/<code>/staff)", 64),
    "sp": ("grid staff phone", 32),
    "so": ("grid staff organisation", 128),
    "sd": ("grid staff duty", 256),
    "ha_addr": ("household address (import)", 256),
    "hh": ("household head name (import)", 64),
    "hp": ("household phone (import)", 32),
    "ea": ("household address (POST /households)", 256),
    "eh": ("household head name (POST /households)", 64),
    "ep": ("household phone (POST /households)", 32),
    "dv": ("household change device (PATCH /households/<code>)", 128),
    "hr": ("household change decision note (POST .../changes/<id>/reject)", 500),
    "gn": ("grid name (area import)", 100),
    "cn": ("community name (area import)", 100),
    "ng": ("planner's new grid name (POST /communities/<code>/grids)", 100),
    "dn": ("user display name (create-user)", 64),
    "vn": ("party visit note (POST /party-visits)", 1000),
    "rd": ("resident's report description (POST /public/reports, no login)", 1000),
    "ra": ("resident's report address (POST /public/reports)", 200),
    "rp": ("reply to the resident (POST /hazards/<id>/actions, verify with reply)", 1000),
    "sc": ("resident's 回访 comment (POST /public/reports/<code>/satisfaction, no login)", 500),
    "rv": ("回访 note of a phone call (POST /hazards/<id>/actions, action revisit)", 2000),
    "wn": ("whistle note (POST /hazards/<id>/whistle)", 2000),
    "rc": ("recall reason of a whistle (POST /hazards/<id>/recall)", 2000),
    "df": ("department feedback note (POST /department/assignments/<id>/feedback, multipart)", 2000),
    "rn": ("routing rule name (PUT /department-routes)", 200),
}

ROLES: dict[str, tuple[str, str]] = {  # username → (role, scope)
    "p-admin": ("admin", ""),
    "p-district": ("supervisor", f.DISTRICT),
    "p-street": ("supervisor", f.STREET),
    "p-community": ("supervisor", f.COMMUNITY),
    "p-planner": ("planner", f.DISTRICT),
    "p-worker": ("grid_worker", f.GRID_A),
    "p-member": ("party_member", f.GRID_A),
    "p-dept": ("department", f.STREET),  # 消防 (xiaofang): the items whistled to it
}


def tagged(payload_index: int, field_key: str) -> str | None:
    """The value planted for one payload in one field, or None when it does not fit the field."""
    value = f"{PAYLOADS[payload_index][0]} #{field_key}{payload_index}"
    return value if len(value) <= FIELDS[field_key][1] else None


def planted(field_key: str) -> list[str]:
    return [v for i in range(len(PAYLOADS)) if (v := tagged(i, field_key)) is not None]


@dataclass
class World:
    hazards: list[int] = field(default_factory=list)
    new_grids: list[str] = field(default_factory=list)
    new_communities: list[str] = field(default_factory=list)
    tracking_codes: list[str] = field(default_factory=list)
    resident_hazards: list[int] = field(default_factory=list)
    patrol_day: str = ""  # the Beijing day of the planted check-ins (the patrol map shows one day)


class Api:
    """The app's own API through Flask's test client, as a token holder."""

    def __init__(self, app, username: str):
        self.client = app.test_client()
        answer = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.get_json()
        self.headers = {"Authorization": f"Bearer {answer.get_json()['token']}"}

    def call(self, method: str, path: str, expect: int | tuple[int, ...] = (200, 201), **kwargs):
        answer = self.client.open(path, method=method, headers=self.headers, **kwargs)
        assert answer.status_code in ((expect,) if isinstance(expect, int) else expect), \
            (method, path, answer.status_code, answer.get_data(as_text=True)[:500])
        return answer.get_json()


def _box(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _upload(api: Api, path: str, name: str, data: bytes, **form) -> dict:
    return api.call("POST", path, data={"file": (io.BytesIO(data), name), **form},
                    content_type="multipart/form-data")


def _resident_reports(app, session, world: World, n: int) -> None:
    """Residents' reports (gridmap.public, no login), each from its own address (rate limits)."""
    from sqlalchemy import select

    from gridmap.public.models import PublicReport
    from tests.public_support import form, solved

    client = app.test_client()
    for i in range(n):
        answer = client.post("/api/v1/public/reports", environ_base={"REMOTE_ADDR": f"10.77.0.{i + 1}"}, data={
            **form(f.GRID_A, description=tagged(i, "rd"), address=tagged(i, "ra"),
                   lon=f"{119.8815 + i * 0.00045:.6f}", lat="28.4555"), **solved(client)})
        assert answer.status_code == 201, answer.get_json()
        world.tracking_codes.append(answer.get_json()["tracking_code"])
    resident_hazards = session.scalars(select(PublicReport.hazard_id).order_by(PublicReport.id)).all()
    world.hazards += resident_hazards
    world.resident_hazards = list(resident_hazards)
    admin = Api(app, "p-admin")
    for i, (hazard_id, code) in enumerate(zip(resident_hazards, world.tracking_codes)):
        # verified with a payload reply; the resident is not satisfied (a payload comment), the item is
        # reworked and verified again, and a phone call records the answer with a payload note
        for action, extra in (("accept", {}), ("assign", {"assignee": "p-worker"}), ("start", {}), ("feedback", {}),
                              ("verify", {"reply": tagged(i, "rp")})):
            admin.call("POST", f"/api/v1/hazards/{hazard_id}/actions", json={"action": action, **extra})
        answer = client.post(f"/api/v1/public/reports/{code}/satisfaction", environ_base={"REMOTE_ADDR": f"10.77.0.{i + 1}"},
                             json={"answer": "dissatisfied", "comment": tagged(i, "sc"), **solved(client)})
        assert answer.status_code == 200, answer.get_json()
        for action, extra in (("feedback", {}), ("verify", {}),
                              ("revisit", {"answer": "satisfied", "note": tagged(i, "rv")})):
            admin.call("POST", f"/api/v1/hazards/{hazard_id}/actions", json={"action": action, **extra})


def plant(app, session) -> World:
    """The world: Lishui's three grids, the role users, then every payload in every field."""
    from gridmap.places.models import KINDS

    world = World()
    f.lishui(session)
    n = len(PAYLOADS)
    for username, (role, scope) in ROLES.items():
        if role == "department":
            xiaofang = session.scalar(text("SELECT id FROM department WHERE code = 'xiaofang'"))
            create_user(session, username, PASSWORD, role, scope, f"{username} 测试", department_id=xiaofang)
        elif role != "party_member":
            create_user(session, username, PASSWORD, role, scope, f"{username} 测试")
    for i in range(n):  # one grid worker per payload, named by it; each checks in once
        create_user(session, f"p-dn{i}", PASSWORD, "grid_worker", f.GRID_A, tagged(i, "dn"))
    session.commit()
    admin, street, worker = Api(app, "p-admin"), Api(app, "p-street"), Api(app, "p-worker")
    kind = next(iter(KINDS))

    # Areas (import): n communities under the other street, n grids in 城北社区's free strip.
    communities = [{"type": "Feature", "properties": {"code": f"{f.OTHER_STREET}{101 + i}",
                                                       "name": tagged(i, "cn"), "parent": f.OTHER_STREET},
                    "geometry": _box(119.9115 + i * 0.0035, 28.475, 119.9145 + i * 0.0035, 28.485)}
                   for i in range(n)]
    grids = [{"type": "Feature", "properties": {"code": f"{f.COMMUNITY}{101 + i}", "name": tagged(i, "gn"),
                                                 "parent": f.COMMUNITY},
              "geometry": _box(119.8705 + i * 0.0022, 28.461, 119.8722 + i * 0.0022, 28.469)} for i in range(n)]
    for level, features in (("community", communities), ("grid", grids)):
        result = _upload(admin, "/api/v1/imports/areas", f"{level}.geojson",
                         json.dumps({"type": "FeatureCollection", "features": features}).encode(), level=level)
        assert result["errors"] == [], result
    world.new_communities = [c["properties"]["code"] for c in communities]
    world.new_grids = [g["properties"]["code"] for g in grids]

    # Households (import), in grid A where the grid worker and party member look.
    rows = ["户号,地址,经度,纬度,户主,电话"]
    for i in range(n):
        cells = [f"PL-{i}", tagged(i, "ha_addr"), f"{119.8812 + i * 0.00045:.6f}", "28.4532",
                 tagged(i, "hh"), tagged(i, "hp") or ""]
        rows.append(",".join('"' + c.replace('"', '""') + '"' for c in cells))
    result = _upload(admin, "/api/v1/imports/households", "households.csv", "\n".join(rows).encode("utf-8"))
    assert result["errors"] == [], result

    now = datetime.now(UTC)
    world.patrol_day = today(now).isoformat()
    member_ids = []
    for i in range(n):
        lon, lat = 119.8815 + i * 0.00045, 28.4565  # every payload's points inside grid A
        hazard = worker.call("POST", "/api/v1/hazards", json={
            "category": "fire", "severity": "normal", "description": tagged(i, "hz"), "lon": lon, "lat": lat})
        world.hazards.append(hazard["id"])
        admin.call("POST", f"/api/v1/hazards/{hazard['id']}/actions", json={"action": "accept", "note": tagged(i, "ha")})
        # assigned to the grid worker: the 督办 note and the description wait in their inbox (/inbox)
        admin.call("POST", f"/api/v1/hazards/{hazard['id']}/actions", json={"action": "assign", "assignee": "p-worker"})
        street.call("POST", f"/api/v1/hazards/{hazard['id']}/actions", json={"action": "supervise",
                                                                             "note": tagged(i, "sv")})
        # 吹哨 to 消防 (the seeded rule), 撤回 with a reason, 吹哨 again; 消防 then 报到s and feeds back
        street.call("POST", f"/api/v1/hazards/{hazard['id']}/whistle", json={"note": tagged(i, "wn")})
        street.call("POST", f"/api/v1/hazards/{hazard['id']}/recall", json={"note": tagged(i, "rc")})
        street.call("POST", f"/api/v1/hazards/{hazard['id']}/whistle", json={"note": tagged(i, "wn")})
        department = Api(app, "p-dept")
        assignment = department.call("GET", "/api/v1/department/queue")["items"][0]["id"]
        department.call("POST", f"/api/v1/department/assignments/{assignment}/report")
        department.call("POST", f"/api/v1/department/assignments/{assignment}/feedback",
                        content_type="multipart/form-data", data={"note": tagged(i, "df")})
        admin.call("PUT", "/api/v1/department-routes", json={
            "category": "sanitation", "area": world.new_communities[i], "departments": ["chengguan"],
            "name": tagged(i, "rn")})
        fix = worker.call("POST", "/api/v1/hazards/on-the-spot", content_type="multipart/form-data", data={
            "category": "fire", "description": tagged(i, "os"), "lon": str(lon), "lat": "28.4555",
            "before": (io.BytesIO(f.png(8 + i)), "before.png"), "after": (io.BytesIO(f.png(40 + i)), "after.png")})
        world.hazards.append(fix["id"])
        Api(app, f"p-dn{i}").call("POST", "/api/v1/checkins", json={
            "id": str(uuid.uuid4()), "lon": lon, "lat": 28.4575, "accuracy_m": 8,
            "recorded_at": now.isoformat(), "note": tagged(i, "ci")})
        worker.call("POST", f"/api/v1/grids/{f.GRID_A}/key-places", json={
            "name": tagged(i, "kn"), "kind": kind, "lon": lon, "lat": 28.4585, "address": tagged(i, "ka"),
            "note": tagged(i, "kt")})
        member = street.call("POST", "/api/v1/party-members", json={
            "name": tagged(i, "pn"), "phone": tagged(i, "pp"), "branch": tagged(i, "pb"), "lon": lon, "lat": 28.4545})
        member_ids.append(member["id"])
        worker.call("POST", "/api/v1/households", json={
            "code": f"PE-{i}", "address": tagged(i, "ea"), "head_name": tagged(i, "eh"), "phone": tagged(i, "ep"),
            "lon": 119.8812 + i * 0.00045, "lat": 28.4522, "device": "payload-test"})
        held = worker.call("PATCH", f"/api/v1/households/PE-{i}", json={  # a sensitive edit waits, then is rejected
            "version": 1, "tags": ["社区矫正"], "device": tagged(i, "dv")})
        change = admin.call("GET", f"/api/v1/households/PE-{i}/history")["items"][0]["id"]
        assert held["pending"] == ["sensitive_tags"], held
        street.call("POST", f"/api/v1/households/PE-{i}/changes/{change}/reject", json={"note": tagged(i, "hr") or ""})
        worker.call("PATCH", f"/api/v1/households/PE-{i}", json={"version": 1, "risk_level": "high"})  # left pending
        Api(app, "p-planner").call("POST", f"/api/v1/communities/{world.new_communities[i]}/grids", json={
            "geometry": _box(119.9118 + i * 0.0035, 28.476, 119.9142 + i * 0.0035, 28.484),
            "name": tagged(i, "ng"), "reason": "新建"})
    for subject in ("grid", "place"):  # every key place (payload names) behind a daily plan on the patrol pages
        street.call("PUT", "/api/v1/patrol-plans", json={"subject": subject, "code": f.STREET, "period": "day",
                                                         "min_count": 1})
    _resident_reports(app, session, world, n)
    street.call("POST", f"/api/v1/grids/{f.GRID_A}/party-contacts", json={"max_per_member": 10})
    street.call("PUT", f"/api/v1/grids/{f.GRID_A}/staff", json={"items": [
        {"role": "grid_worker", "name": tagged(i, "sn"), "phone": tagged(i, "sp"), "organisation": tagged(i, "so"),
         "duty": tagged(i, "sd")} for i in range(n)]})
    create_user(session, "p-member", PASSWORD, "party_member", f.GRID_A, "p-member 测试", party_member_id=member_ids[0])
    session.commit()
    # The party member looks after every imported household and visits each once, with a payload
    # as the note: the phone page shows each household's last note.
    member = Api(app, "p-member")
    for i in range(n):
        street.call("PUT", f"/api/v1/party-members/{member_ids[0]}/households/PL-{i}", json={"pinned": True})
        member.call("POST", "/api/v1/party-visits", json={
            "client_id": str(uuid.uuid4()), "household_code": f"PL-{i}", "note": tagged(i, "vn"),
            "recorded_at": now.isoformat(), "lon": 119.8812 + i * 0.00045, "lat": 28.4532})
    return world
