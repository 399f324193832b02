"""The demo's key places and grid staff (gridmap.demo.handbook): inside their grids,
deterministic, every staff role present, the featured grid's worker named as the demo user."""

from __future__ import annotations

from sqlalchemy import text

from gridmap.demo.handbook import insert_grid_staff, insert_key_places
from tests import factories as f


def _places(session) -> list[tuple]:
    return session.execute(text("""
        SELECT g.code, k.kind, k.name, k.address, ST_AsText(k.geom), ST_Covers(g.geom, k.geom)
        FROM key_place k JOIN grid g ON g.id = k.grid_id ORDER BY g.code, k.kind""")).all()


def test_demo_key_places_and_staff(db_session):
    world = f.lishui(db_session)
    f.household(db_session, "H-1", 119.885, 28.455, world["grids"][f.GRID_A],
                address="丽水市莲都区丽阳街8号丽景花园3幢2单元301")
    assert insert_key_places(db_session, f.DISTRICT) == 12
    places = _places(db_session)
    assert all(inside for *_, inside in places)
    kinds_a = {kind for code, kind, *_ in places if code == f.GRID_A}
    assert {"party_centre", "rental_cluster", "hydrant"} <= kinds_a and len(kinds_a) == 4
    rental = next(p for p in places if p[0] == f.GRID_A and p[1] == "rental_cluster")
    assert rental[2] == "丽水市莲都区丽阳街8号丽景花园3幢出租房集中点" and rental[3] == "丽水市莲都区丽阳街8号丽景花园3幢"
    # Deterministic: the same points again; a second run adds nothing.
    assert insert_key_places(db_session, f.DISTRICT) == 0
    db_session.execute(text("DELETE FROM key_place"))
    insert_key_places(db_session, f.DISTRICT)
    assert _places(db_session) == places

    assert insert_grid_staff(db_session, f.DISTRICT, f.GRID_A, "周晓燕") == 12
    staff = db_session.execute(text("""
        SELECT g.code, s.role, s.name, s.phone, s.organisation FROM grid_staff s JOIN grid g ON g.id = s.grid_id
        ORDER BY g.code, s.sort_order""")).all()
    assert [r[1] for r in staff[:4]] == ["grid_leader", "grid_worker", "police", "department"]
    assert staff[1][2] == "周晓燕" and staff[5][2] != "周晓燕"
    assert staff[2][4] == "紫金街道派出所" and all(len(r[3]) == 11 for r in staff)
    assert insert_grid_staff(db_session, f.DISTRICT, f.GRID_A, "周晓燕") == 0  # grids with staff keep theirs
