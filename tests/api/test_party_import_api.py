"""Party-member import over HTTP and the command line: placed by coordinates or by a
household code, all or nothing, on_error=skip, re-import updates."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from gridmap.party.models import PartyMember
from tests import factories as f

URL = "/api/v1/imports/party-members"


def _post(client, token, filename, content: bytes, **form):
    data = {"file": (io.BytesIO(content), filename), **form}
    return client.post(URL, data=data, headers=f.auth(token), content_type="multipart/form-data")


@pytest.fixture
def world(db_session):
    data = f.lishui(db_session)
    f.household(db_session, "LD-7", 119.8855, 28.4555, data["grids"][f.GRID_A])
    db_session.commit()
    return data


GOOD = """姓名,电话,支部,经度,纬度,户号
王建国,13811112222,城北社区第一党支部,119.885,28.455,
李红梅,13833334444,城北社区第二党支部,,,LD-7
张远,13855556666,丽阳社区党支部,119.700,28.300,
"""


def _members(db_session) -> dict[str, PartyMember]:
    return {m.name: m for m in db_session.scalars(select(PartyMember))}


def test_import_places_members_by_point_or_household(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    r = _post(client, admin, "党员.csv", GOOD.encode("utf-8"))
    body = r.get_json()
    assert r.status_code == 200, body
    assert (body["imported"], body["assigned"], body["outside_grids"], body["errors"]) == (3, 2, 1, [])
    members = _members(db_session)
    grid_a = world["grids"][f.GRID_A].id
    assert members["王建国"].grid_id == grid_a and members["王建国"].household_id is None
    assert members["李红梅"].grid_id == grid_a and members["李红梅"].household_id is not None
    assert members["张远"].grid_id is None and members["李红梅"].branch == "城北社区第二党支部"
    # Re-importing the same names and phones updates them instead of duplicating.
    again = _post(client, admin, "党员.csv", GOOD.replace("第一党支部", "第三党支部").encode())
    assert again.get_json()["updated"] == 3 and again.get_json()["created"] == 0
    db_session.expire_all()
    assert len(_members(db_session)) == 3 and _members(db_session)["王建国"].branch == "城北社区第三党支部"


BAD = """姓名,电话,支部,经度,纬度,户号
王建国,13811112222,一支部,119.885,28.455,
,13800000000,一支部,119.885,28.455,
李四,13800000001,一支部,abc,28.455,
赵五,13800000002,一支部,,,NO-SUCH
王建国,13811112222,一支部,119.886,28.455,
"""


def test_bad_rows_reject_the_file_or_are_skipped(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    r = _post(client, admin, "p.csv", BAD.encode())
    assert r.status_code == 422
    errors = r.get_json()["error"]["details"]["errors"]
    assert [e["row"] for e in errors] == [3, 4, 5, 6]
    messages = " ".join(e["message"] for e in errors)
    assert "姓名" in messages and "数字" in messages and "NO-SUCH" in messages and "重复" in messages
    assert db_session.scalar(select(func.count()).select_from(PartyMember)) == 0
    skipped = _post(client, admin, "p.csv", BAD.encode(), on_error="skip").get_json()
    assert skipped["imported"] == 1 and len(skipped["errors"]) == 4


def test_xlsx_and_gcj02_and_admin_only(client, db_session, world, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "电话", "支部", "经度", "纬度"])
    sheet.append(["钱多多", "13900000000", "一支部", 119.8897, 28.4527])  # GCJ-02 of about (119.885, 28.455)
    path = tmp_path / "p.xlsx"
    book.save(path)
    admin = f.token_for(db_session, "admin")
    body = _post(client, admin, "p.xlsx", path.read_bytes(), crs="gcj02").get_json()
    assert body["imported"] == 1 and body["assigned"] == 1
    lon = db_session.scalar(select(func.ST_X(PartyMember.geom)))
    assert abs(lon - 119.885) < 0.001
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    assert _post(client, worker, "p.csv", GOOD.encode()).status_code == 403
    assert _post(client, admin, "p.csv", "电话\n1\n".encode()).status_code == 422


def test_cli_import_party_members(app, db_session, world, tmp_path):
    csv = tmp_path / "党员.csv"
    csv.write_text(GOOD, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-party-members", str(csv)])
    assert result.exit_code == 0, result.output
    assert "导入党员 3 名" in result.output and "不在任何网格内 1" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    failed = app.test_cli_runner().invoke(args=["import-party-members", str(bad)])
    assert failed.exit_code == 2 and "第 4 行" in failed.output
