"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

import gridmap.models  # noqa: F401
from gridmap.db import Base, sqlalchemy_url
from tests.conftest import TEST_DATABASE_URL


def test_models_and_migrations_agree(app):
    engine = create_engine(sqlalchemy_url(TEST_DATABASE_URL))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "include_object": alembic_helpers.include_object, "compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_database_enforces_codes_and_valid_geometry(db_session):
    bad_statements = [
        "INSERT INTO admin_unit (code, name, level) VALUES ('33110', '短编码', 'district')",
        "INSERT INTO admin_unit (code, name, level) VALUES ('331102001', '层级不符', 'district')",
        "INSERT INTO admin_unit (code, name, level, geom) VALUES ('331199', '自相交', 'district', "
        "ST_GeomFromText('MULTIPOLYGON(((119.88 28.46,119.89 28.465,119.89 28.46,119.88 28.465,119.88 28.46)))', 4326))",
    ]
    for statement in bad_statements:
        with pytest.raises(IntegrityError):
            with db_session.begin_nested():
                db_session.execute(text(statement))


def test_household_point_check_refuses_empty_non_finite_and_out_of_range_points(db_session):
    insert = "INSERT INTO household (code, geom) VALUES (:code, ST_SetSRID({point}, 4326))"
    bad = ["ST_MakePoint('NaN'::float8, 28.4)", "ST_MakePoint(119.9, 'Infinity'::float8)",
           "ST_MakePoint('-Infinity'::float8, 28.4)", "'POINT EMPTY'::geometry", "ST_MakePoint(181, 28.4)",
           "ST_MakePoint(119.9, -90.5)"]
    for i, point in enumerate(bad):
        with pytest.raises(IntegrityError, match="ck_household_geom_valid"):
            with db_session.begin_nested():
                db_session.execute(text(insert.format(point=point)), {"code": f"BAD-{i}"})
    db_session.execute(text(insert.format(point="ST_MakePoint(119.9, 28.4)")), {"code": "GOOD"})


def test_spatial_and_prefix_indexes_exist(app):
    engine = create_engine(sqlalchemy_url(TEST_DATABASE_URL))
    indexes = {ix["name"] for table in ("grid", "household", "admin_unit")
               for ix in inspect(engine).get_indexes(table)}
    engine.dispose()
    assert {"ix_grid_geom", "ix_household_geom", "ix_admin_unit_geom", "ix_grid_code_prefix",
            "ix_admin_unit_code_prefix", "ix_household_tags"} <= indexes


def test_migrations_have_a_single_head():
    from alembic.script import ScriptDirectory

    from gridmap.migrate import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config(TEST_DATABASE_URL)).get_heads()) == 1
