"""Engine, sessions and the declarative base.

One ``Database`` per app. Request handlers get a session from ``get_session()``;
services take that session as a plain argument and own the transaction through
``transaction()``; ``Prepared`` runs a statement worth planning once per connection. Tests bind the session factory to an outer connection so
every test rolls back (see tests/conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import MetaData, create_engine, text
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


# Session.info key: may a statement be kept prepared in the server session (see ``Prepared``)?
STATEMENT_CACHE = "gridmap.statement_cache"


class Database:
    """``statement_cache=False`` behind a pooler in transaction mode: the app then keeps no
    state in a server session beyond one transaction (no ``PREPARE``; ``SET`` only as
    ``SET LOCAL``; no session advisory locks; temporary tables ``ON COMMIT DROP``)."""

    def __init__(self, url: str, statement_cache: bool = True, **engine_options: Any):
        options = {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}
        options.update(engine_options)
        self.engine: Engine = create_engine(sqlalchemy_url(url), **options)
        self.info = {STATEMENT_CACHE: statement_cache}
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False, info=self.info)

    def session(self) -> Session:
        return self.sessionmaker()

    @contextmanager
    def bound_to(self, connection: Connection) -> Iterator[None]:
        """Route every session through ``connection``; commits become savepoints."""
        original = self.sessionmaker
        self.sessionmaker = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint", info=self.info
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


class Prepared:
    """A statement prepared once per database connection, then run by ``EXECUTE``.

    For a statement that costs more to plan than to run: planning patrol's check-in SQL
    (CTEs over every month partition) costs about four times as much as running it for
    one check-in (1.7 ms against 0.4 ms); prepared and run with its generic plan it is
    planned once per connection (PostgreSQL re-plans it by itself when a partition is
    added or dropped). ``sql`` names its parameters ``:name``; ``types`` gives each its
    SQL type. The names prepared are
    kept in the pooled connection's ``info``, which SQLAlchemy clears whenever it
    replaces the DBAPI connection (reconnect, pre-ping failure), and checked against the
    DBAPI connection's identity as well.
    """

    def __init__(self, name: str, sql: str, types: dict[str, str]):
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        body = re.sub(r"(?<![:\w]):(\w+)", number, sql)
        self.name = name
        self.prepare = f"PREPARE {name} ({', '.join(types[n] for n in order)}) AS {body}"
        # For this transaction only, in the same round trip:
        # * the generic plan: a custom plan would be planned again at every call
        #   (PostgreSQL's "auto" mode keeps choosing one for small arrays);
        # * no sequential scans: the generic plan is kept while the month's partition grows,
        #   until the next ANALYZE of it. One planned while the partition was nearly empty
        #   (a new month, or autovacuum busy elsewhere) would otherwise read the whole
        #   partition for every batch; scripts/bench/checkins --big-table caught single
        #   check-ins at half speed right after a bulk load kept autovacuum busy.
        self.execute = text("SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off; "
                            f"EXECUTE {name} (" + ", ".join(f"CAST(:{n} AS {types[n]})" for n in order) + ")")
        # Behind a transaction-mode pooler: the statement itself, planned at every call.
        self.unprepared = text("SET LOCAL enable_seqscan = off; "
                               + re.sub(r"(?<![:\w]):(\w+)", lambda m: f"CAST(:{m.group(1)} AS {types[m.group(1)]})", sql))

    def __call__(self, session: Session, params: dict[str, Any]):
        if not session.info.get(STATEMENT_CACHE, True):
            return session.execute(self.unprepared, params)
        connection = session.connection()
        pooled = connection.connection
        key = ("gridmap.prepared", id(pooled.dbapi_connection))
        done = pooled.info.setdefault(key, set())
        if self.name not in done:
            with pooled.dbapi_connection.cursor() as cursor:  # no parameters: no %-formatting
                cursor.execute(self.prepare)
            done.add(self.name)
        return session.execute(self.execute, params)
