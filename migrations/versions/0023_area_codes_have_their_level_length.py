"""Area codes have their level's length (gridmap.areas.codes), so a code prefix is a whole area:

* a grid's code is its community's 12 digits + 3 (was 13–24 digits: a 13-digit grid code was a
  prefix of ten 15-digit codes of its siblings);
* a user's scope is "", a city's 4 digits or a 6/9/12/15-digit area code (was any digits), and a grid worker's or party
  member's is a grid's 15-digit code.

admin_unit already holds district 6, street 9 and community 12. Rows that break the new rules
stop the upgrade with a list of them, to be corrected by hand (nothing is guessed).

Revision ID: 0023
Revises: 0022
"""
from alembic import op
from sqlalchemy import text

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

SCOPE_RULE = "scope_code ~ '^([0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15})?$'"
GRID_ROLES_RULE = "role NOT IN ('grid_worker', 'party_member') OR length(scope_code) = 15"


def _refuse_if_any(sql: str, what: str) -> None:
    rows = op.get_bind().execute(text(sql)).scalars().all()
    if rows:
        shown = ", ".join(rows[:20]) + (" …" if len(rows) > 20 else "")
        raise RuntimeError(f"{len(rows)} {what} break the code-length rule; correct them first: {shown}")


def upgrade() -> None:
    _refuse_if_any("SELECT code FROM grid WHERE code !~ '^[0-9]{15}$' ORDER BY code", "grid codes")
    _refuse_if_any(f"SELECT username FROM app_user WHERE NOT ({SCOPE_RULE}) OR NOT ({GRID_ROLES_RULE}) "
                   "ORDER BY username", "users' scopes")
    op.execute("ALTER TABLE grid DROP CONSTRAINT ck_grid_code_digits")
    op.execute("ALTER TABLE grid ADD CONSTRAINT ck_grid_code_digits CHECK (code ~ '^[0-9]{15}$')")
    op.execute("ALTER TABLE app_user DROP CONSTRAINT ck_app_user_scope_digits")
    op.execute(f"ALTER TABLE app_user ADD CONSTRAINT ck_app_user_scope_digits CHECK ({SCOPE_RULE})")
    op.execute(f"ALTER TABLE app_user ADD CONSTRAINT ck_app_user_grid_roles_scope_grid CHECK ({GRID_ROLES_RULE})")


def downgrade() -> None:
    op.execute("ALTER TABLE app_user DROP CONSTRAINT ck_app_user_grid_roles_scope_grid")
    op.execute("ALTER TABLE app_user DROP CONSTRAINT ck_app_user_scope_digits")
    op.execute("ALTER TABLE app_user ADD CONSTRAINT ck_app_user_scope_digits CHECK (scope_code ~ '^[0-9]*$')")
    op.execute("ALTER TABLE grid DROP CONSTRAINT ck_grid_code_digits")
    op.execute("ALTER TABLE grid ADD CONSTRAINT ck_grid_code_digits CHECK (code ~ '^[0-9]{13,24}$')")
