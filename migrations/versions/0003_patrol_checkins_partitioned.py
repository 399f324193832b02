"""Patrol check-ins: ``checkin`` partitioned by month on recorded_at (partitions in the
schema ``checkin_part``, a DEFAULT partition for anything outside the prepared months),
``checkin_key`` for idempotency by the client's UUID, and the SQL functions that create
month partitions ahead and drop old ones (``gridmap.patrol.partitions`` calls them).

Revision ID: 0003
Revises: 0001
"""
from alembic import op

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None

# Months are China's calendar months (Asia/Shanghai), whatever the server's time zone.
FUNCTIONS = r"""
CREATE FUNCTION checkin_partition_name(month_start date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT 'checkin_y' || to_char(month_start, 'YYYY') || 'm' || to_char(month_start, 'MM')
$$;

-- Create the partition for the month containing ``day`` (true) or do nothing (false).
-- Rows already waiting in the DEFAULT partition for that month move into it first.
CREATE FUNCTION checkin_ensure_month(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  m date := date_trunc('month', day)::date;
  lo timestamptz := m::timestamp AT TIME ZONE 'Asia/Shanghai';
  hi timestamptz := (m + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai';
  part text := checkin_partition_name(m);
BEGIN
  IF to_regclass(format('checkin_part.%I', part)) IS NOT NULL THEN
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE checkin_part.%I (LIKE public.checkin INCLUDING DEFAULTS)', part);
  EXECUTE format('WITH moved AS (DELETE FROM checkin_part.checkin_default'
                 ' WHERE recorded_at >= %L AND recorded_at < %L RETURNING *)'
                 ' INSERT INTO checkin_part.%I SELECT * FROM moved', lo, hi, part);
  EXECUTE format('ALTER TABLE public.checkin ATTACH PARTITION checkin_part.%I FOR VALUES FROM (%L) TO (%L)',
                 part, lo, hi);
  RETURN true;
END
$$;

-- Drop every month partition before the month of ``cutoff``; delete older rows from the
-- DEFAULT partition and older idempotency keys. Returns the dropped partitions' names.
CREATE FUNCTION checkin_drop_before(cutoff date) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  m date := date_trunc('month', cutoff)::date;
  bound timestamptz := m::timestamp AT TIME ZONE 'Asia/Shanghai';
  part record;
BEGIN
  FOR part IN
    SELECT c.relname FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE i.inhparent = 'public.checkin'::regclass AND n.nspname = 'checkin_part'
       AND c.relname ~ '^checkin_y[0-9]{4}m[0-9]{2}$'
       AND to_date(substr(c.relname, 10, 4) || substr(c.relname, 15, 2), 'YYYYMM') < m
     ORDER BY c.relname
  LOOP
    EXECUTE format('DROP TABLE checkin_part.%I', part.relname);
    RETURN NEXT part.relname;
  END LOOP;
  DELETE FROM checkin_part.checkin_default WHERE recorded_at < bound;
  DELETE FROM public.checkin_key WHERE recorded_at < bound;
END
$$;
"""


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS checkin_part")
    op.execute("""
    CREATE TABLE checkin (
        id uuid NOT NULL,
        recorded_at timestamptz NOT NULL,
        user_id integer NOT NULL,
        grid_id integer,
        grid_version integer,
        geom geometry(POINT, 4326) NOT NULL,
        accuracy_m real NOT NULL,
        received_at timestamptz DEFAULT now() NOT NULL,
        household_id integer,
        note text DEFAULT '' NOT NULL,
        flags text[] DEFAULT '{}' NOT NULL,
        CONSTRAINT pk_checkin PRIMARY KEY (id, recorded_at),
        CONSTRAINT fk_checkin_user_id_app_user FOREIGN KEY (user_id) REFERENCES app_user (id) ON DELETE RESTRICT,
        CONSTRAINT fk_checkin_grid_id_grid FOREIGN KEY (grid_id) REFERENCES grid (id) ON DELETE SET NULL,
        CONSTRAINT fk_checkin_household_id_household FOREIGN KEY (household_id)
            REFERENCES household (id) ON DELETE SET NULL
    ) PARTITION BY RANGE (recorded_at)
    """)
    # Indexes on the parent are created on every partition, present and future.
    op.execute("CREATE INDEX ix_checkin_geom ON checkin USING gist (geom)")
    op.execute("CREATE INDEX ix_checkin_user_id_recorded_at ON checkin (user_id, recorded_at)")
    op.execute("CREATE INDEX ix_checkin_grid_id_recorded_at ON checkin (grid_id, recorded_at)")
    op.execute("CREATE INDEX ix_checkin_household_id ON checkin (household_id)")
    op.execute("CREATE TABLE checkin_part.checkin_default PARTITION OF checkin DEFAULT")
    op.execute("""
    CREATE TABLE checkin_key (
        id uuid NOT NULL,
        user_id integer NOT NULL,
        recorded_at timestamptz NOT NULL,
        answer jsonb NOT NULL,
        received_at timestamptz DEFAULT now() NOT NULL,
        CONSTRAINT pk_checkin_key PRIMARY KEY (id),
        CONSTRAINT fk_checkin_key_user_id_app_user FOREIGN KEY (user_id) REFERENCES app_user (id) ON DELETE RESTRICT
    )
    """)
    op.execute("CREATE INDEX ix_checkin_key_recorded_at ON checkin_key (recorded_at)")
    op.execute(FUNCTIONS)
    # A window of months: the last 2, this one and the next 3.
    op.execute("""
    SELECT checkin_ensure_month((date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') + make_interval(months => k))::date)
      FROM generate_series(-2, 3) AS k
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS checkin_drop_before(date)")
    op.execute("DROP FUNCTION IF EXISTS checkin_ensure_month(date)")
    op.execute("DROP FUNCTION IF EXISTS checkin_partition_name(date)")
    op.execute("DROP TABLE IF EXISTS checkin_key")
    op.execute("DROP TABLE IF EXISTS checkin")
    op.execute("DROP SCHEMA IF EXISTS checkin_part CASCADE")
