"""Engine, sessions and the declarative base.

One ``Database`` per app. Request handlers get a session from ``get_session()``;
services take that session as a plain argument and own the transaction through
``transaction()``. Tests bind the session factory to an outer connection so
every test rolls back (see tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def sqlalchemy_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and pin the psycopg2 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


class Database:
    def __init__(self, url: str, **engine_options: Any):
        options = {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}
        options.update(engine_options)
        self.engine: Engine = create_engine(sqlalchemy_url(url), **options)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()

    @contextmanager
    def bound_to(self, connection: Connection) -> Iterator[None]:
        """Route every session through ``connection``; commits become savepoints."""
        original = self.sessionmaker
        self.sessionmaker = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield
        finally:
            self.sessionmaker = original


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """A unit of work: commit when the block succeeds, roll everything back if it raises."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def raw_cursor(session: Session):
    """A DB-API cursor on the session's own connection and transaction (for COPY)."""
    return session.connection().connection.dbapi_connection.cursor()
