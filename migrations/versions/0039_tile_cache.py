"""Server-side vector tile cache: ``tile_cache`` (a built tile per request key, with the snapshot it
was built in) and ``tile_change`` (one row per statement that wrote a table the tiles show, by its
transaction id), written by statement-level triggers on admin_unit, grid, household, hazard and
checkin. A cached tile is current while no change to its tables is visible now that its snapshot
did not see: one index lookup and a short index range scan (gridmap.tiles.cache).

``tile_grid_households`` keeps households per grid as signed deltas written by statement triggers
on household with transition tables (one row per grid a statement changed; no counter row another
writer waits for), filled here from the households there are.

The cache tables are UNLOGGED: they are a cache, a crash empties both together and loses no answered
write. Statement triggers cost one row per writing statement, not per row (a COPY of a million
households writes one), and take no lock another writer waits for.

Revision ID: 0039
Revises: 0040
"""
from alembic import op

revision = '0039'
down_revision = '0040'
branch_labels = None
depends_on = None

SOURCES = ('admin_unit', 'grid', 'household', 'hazard', 'checkin')

# Signed households per grid from a statement's transition tables (UPDATE: old rows -1, new +1,
# so a statement that leaves grid_id alone nets to nothing and writes no row).
DELTA_TRIGGERS = {
    'insert': ("INSERT", "NEW TABLE AS new_rows", "SELECT grid_id, 1 FROM new_rows"),
    'delete': ("DELETE", "OLD TABLE AS old_rows", "SELECT grid_id, -1 FROM old_rows"),
    'update': ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
               "SELECT grid_id, -1 FROM old_rows UNION ALL SELECT grid_id, 1 FROM new_rows"),
}


def upgrade() -> None:
    op.execute("""
        CREATE UNLOGGED TABLE tile_change (
            id BIGSERIAL NOT NULL,
            source VARCHAR(32) NOT NULL,
            xid xid8 DEFAULT pg_current_xact_id() NOT NULL,
            at TIMESTAMP WITH TIME ZONE DEFAULT clock_timestamp() NOT NULL,
            CONSTRAINT pk_tile_change PRIMARY KEY (id)
        )""")
    op.create_index('ix_tile_change_source_xid', 'tile_change', ['source', 'xid'])
    op.create_index('ix_tile_change_at', 'tile_change', ['at'])
    op.execute("""
        CREATE UNLOGGED TABLE tile_cache (
            key VARCHAR(64) NOT NULL,
            tag VARCHAR(64) NOT NULL,
            features INTEGER NOT NULL,
            body BYTEA NOT NULL,
            snap pg_snapshot NOT NULL,
            snap_xmin xid8 NOT NULL,
            built_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
            CONSTRAINT pk_tile_cache PRIMARY KEY (key)
        )""")
    op.create_index('ix_tile_cache_snap_xmin', 'tile_cache', ['snap_xmin'])
    op.create_index('ix_tile_cache_built_at', 'tile_cache', ['built_at'])
    op.execute("""
        CREATE FUNCTION tile_note_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO tile_change (source) VALUES (TG_ARGV[0]);
            RETURN NULL;
        END $$""")
    for table in SOURCES:
        op.execute(f"CREATE TRIGGER tile_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION tile_note_change('{table}')")
        op.execute(f"CREATE TRIGGER tile_change_truncate AFTER TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION tile_note_change('{table}')")

    op.execute("""
        CREATE TABLE tile_grid_households (
            id BIGSERIAL NOT NULL,
            grid_id INTEGER NOT NULL,
            n INTEGER NOT NULL,
            CONSTRAINT pk_tile_grid_households PRIMARY KEY (id)
        )""")
    op.create_index('ix_tile_grid_households_grid_id', 'tile_grid_households', ['grid_id'])
    op.execute("INSERT INTO tile_grid_households (grid_id, n) "
               "SELECT grid_id, count(*) FROM household WHERE grid_id IS NOT NULL GROUP BY grid_id")
    for event, (verb, tables, rows) in DELTA_TRIGGERS.items():
        op.execute(f"""
            CREATE FUNCTION tile_households_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO tile_grid_households (grid_id, n)
                SELECT grid_id, sum(d) FROM ({rows}) AS c (grid_id, d)
                 WHERE grid_id IS NOT NULL GROUP BY grid_id HAVING sum(d) <> 0;
                RETURN NULL;
            END $$""")
        op.execute(f"CREATE TRIGGER tile_households_{event} AFTER {verb} ON household REFERENCING {tables} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION tile_households_{event}()")
    op.execute("""
        CREATE FUNCTION tile_households_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM tile_grid_households;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER tile_households_truncate AFTER TRUNCATE ON household "
               "FOR EACH STATEMENT EXECUTE FUNCTION tile_households_truncate()")


def downgrade() -> None:
    for event in (*DELTA_TRIGGERS, 'truncate'):
        op.execute(f"DROP TRIGGER tile_households_{event} ON household")
        op.execute(f"DROP FUNCTION tile_households_{event}()")
    op.drop_table('tile_grid_households')
    for table in SOURCES:
        op.execute(f"DROP TRIGGER tile_change_truncate ON {table}")
        op.execute(f"DROP TRIGGER tile_change ON {table}")
    op.execute("DROP FUNCTION tile_note_change()")
    op.drop_table('tile_cache')
    op.drop_table('tile_change')
