"""Household tags in their one spelling (gridmap.auth.masking.normalise_tag, as of this
revision): a tag stored before whose ideographs say a sensitive tag — written with a Hangul
filler, a variation selector, a traditional, Japanese or variant form, or words around it — is
that tag now, so it is masked and counted as one. Field edits and imports spell tags this way
from this revision on; tags stored earlier kept what they were given. Each distinct tag is
spelled once in Python, then one UPDATE rewrites the households that carry a changed one,
keeping their tags' order, each once. The version is not bumped: the household says what it
said, as every later write spells it.

Revision ID: 0044
Revises: 0043
"""
import sqlalchemy as sa
from alembic import op

revision = '0044'
down_revision = '0043'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from gridmap.auth.masking import normalise_tag  # the rule itself: Unicode categories are not SQL's

    bind = op.get_bind()
    stored = bind.execute(sa.text("SELECT DISTINCT unnest(tags) FROM household")).scalars().all()
    changed = {tag: spelled for tag in stored if (spelled := normalise_tag(tag)) != tag}
    if not changed:
        return
    bind.execute(sa.text("""
        UPDATE household h SET tags = ARRAY(
            SELECT s.tag FROM (
                SELECT coalesce(m.spelled, nullif(t.tag, '')) AS tag, min(t.n) AS first
                  FROM unnest(h.tags) WITH ORDINALITY AS t(tag, n)
                  LEFT JOIN unnest(CAST(:old AS text[]), CAST(:new AS text[])) AS m(tag, spelled) ON m.tag = t.tag
                 GROUP BY 1) s
             WHERE s.tag IS NOT NULL AND s.tag <> ''
             ORDER BY s.first)
         WHERE h.tags && CAST(:old AS text[])
    """), {"old": list(changed), "new": list(changed.values())})


def downgrade() -> None:
    pass  # the old spellings are not kept: they were what let a sensitive tag pass unmasked
