"""The server-side tile cache (gridmap.tiles.cache): a tile is served from it until a statement
writes a table the tile shows, households per grid are kept as deltas that fold into one row,
and pruning the change log drops every entry that may not have seen a pruned change.

All of a test runs in one transaction, and a change by the reading transaction always misses the
cache, so the change rows the fixtures wrote are cleared first, as if they had been committed."""

from __future__ import annotations

from sqlalchemy import text

from gridmap.tiles import cache
from tests import factories as f
from tests.api.test_tiles import features, get

MARKER = b"cached-body"


def _fresh_log(db_session) -> None:
    db_session.execute(text("DELETE FROM tile_change"))
    db_session.commit()


def _mark_cached(db_session) -> int:
    return db_session.execute(text("UPDATE tile_cache SET body = :b"), {"b": MARKER}).rowcount


def test_a_tile_is_served_from_the_cache_until_a_table_it_shows_changes(client, db_session):
    f.lishui(db_session)
    token = f.token_for(db_session, "supervisor", f.DISTRICT)
    _fresh_log(db_session)
    assert f.GRID_A in features(get(client, token))
    assert _mark_cached(db_session) == 1  # the tile was kept; from now on a hit answers the marker
    assert get(client, token).data == MARKER
    etag = get(client, token).headers["ETag"]
    assert get(client, token, etag=etag).status_code == 304  # a hit whose tag the caller holds

    db_session.execute(text("UPDATE hazard SET id = id WHERE false"))  # a statement on hazard
    db_session.execute(text("UPDATE checkin SET id = id WHERE false"))  # and on checkin
    assert get(client, token).data == MARKER  # the plain layer does not show them
    with_hazards = get(client, token, query_string={"hazards": "true"})
    assert with_hazards.data != MARKER and f.GRID_A in features(with_hazards)

    db_session.execute(text("UPDATE grid SET name = '改名网格' WHERE code = :c"), {"c": f.GRID_A})
    renamed = get(client, token)
    assert renamed.data != MARKER
    assert features(renamed)[f.GRID_A]["properties"]["name"] == "改名网格"


def _a_later_transaction_commits(db_session) -> None:
    """Another connection takes a transaction id after this test's and commits, so snapshots taken
    from now on end past this test's id and do not list it as running."""
    with db_session.get_bind().engine.connect() as other:
        other.execute(text("SELECT pg_current_xact_id()"))
        other.commit()


def test_a_household_written_in_sql_reaches_the_cached_tile(client, db_session):
    world = f.lishui(db_session)
    token = f.token_for(db_session, "supervisor", f.DISTRICT)
    _fresh_log(db_session)
    _a_later_transaction_commits(db_session)  # the snapshot alone would count this test's writes as seen
    assert features(get(client, token))[f.GRID_A]["properties"]["households"] == 0
    assert _mark_cached(db_session) == 1
    f.household(db_session, "A1", 119.882, 28.455, world["grids"][f.GRID_A])
    db_session.commit()
    assert features(get(client, token))[f.GRID_A]["properties"]["households"] == 1


def _counts(db_session) -> tuple[dict[int, int], dict[int, int]]:
    counted = dict(db_session.execute(text(
        "SELECT grid_id, count(*) FROM household WHERE grid_id IS NOT NULL GROUP BY grid_id")).all())
    summed = dict(db_session.execute(text(
        "SELECT grid_id, sum(n) FROM tile_grid_households GROUP BY grid_id HAVING sum(n) <> 0")).all())
    return counted, summed


def test_households_per_grid_follow_every_write_and_fold_into_one_row(db_session):
    world = f.lishui(db_session)
    a, b = world["grids"][f.GRID_A], world["grids"][f.GRID_B]
    for i in range(4):
        f.household(db_session, f"A{i}", 119.882, 28.455, a)
    f.household(db_session, "B0", 119.892, 28.455, b)
    db_session.flush()
    db_session.execute(text("UPDATE household SET grid_id = :b WHERE code IN ('A0', 'A1')"), {"b": b.id})
    db_session.execute(text("DELETE FROM household WHERE code = 'A2'"))
    db_session.execute(text("UPDATE household SET updated_at = now()"))  # grid_id untouched: no delta
    counted, summed = _counts(db_session)
    assert counted == {a.id: 1, b.id: 3} and summed == counted
    rows = db_session.execute(text("SELECT count(*) FROM tile_grid_households WHERE grid_id = :a"),
                              {"a": a.id}).scalar_one()
    assert rows > 1
    db_session.execute(cache.COMPACT_SQL)
    assert _counts(db_session)[1] == counted
    assert db_session.execute(text(
        "SELECT max(c) FROM (SELECT count(*) AS c FROM tile_grid_households GROUP BY grid_id) x")).scalar_one() == 1


def _a_tile_then_an_old_change(client, db_session) -> str:
    """A cached grids tile, then a change to grid it has not seen, two days old; the token."""
    f.lishui(db_session)
    token = f.token_for(db_session, "supervisor", f.DISTRICT)
    _fresh_log(db_session)
    get(client, token)
    db_session.execute(text("UPDATE grid SET id = id WHERE false"))
    db_session.execute(text("UPDATE tile_change SET at = now() - interval '2 days'"))
    return token


def test_pruning_the_change_log_drops_the_entries_that_may_not_have_seen_it(client, db_session):
    token = _a_tile_then_an_old_change(client, db_session)
    get(client, token, "/tiles/areas/14/0/0.pbf")  # another tile's build prunes
    assert db_session.execute(text("SELECT count(*) FROM tile_change")).scalar_one() == 0
    keys = db_session.execute(text("SELECT count(*) FROM tile_cache")).scalar_one()
    assert keys == 1  # the grids tile is gone with the change it had not seen; the new one stays


def test_the_daily_prune_drops_old_changes_and_the_tiles_that_had_not_seen_them(app, client, db_session):
    _a_tile_then_an_old_change(client, db_session)
    db_session.execute(text("UPDATE grid SET id = id WHERE false"))  # a fresh change: it stays
    before = db_session.execute(text("SELECT count(*) FROM tile_change")).scalar_one()
    result = app.test_cli_runner().invoke(args=["tile-cache-prune"])
    assert result.exit_code == 0, result.output
    assert "1 个" in result.output
    assert db_session.execute(text("SELECT count(*) FROM tile_cache")).scalar_one() == 0
    assert before == 2
    assert db_session.execute(text("SELECT count(*) FROM tile_change")).scalar_one() == 1
