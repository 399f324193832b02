"""Alembic environment: the URL and metadata come from gridmap, not from an ini file."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

import gridmap.models  # noqa: F401  (fills Base.metadata)
from gridmap.db import Base, sqlalchemy_url

config = context.config
url = sqlalchemy_url(config.get_main_option("sqlalchemy.url"))


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=alembic_helpers.include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
