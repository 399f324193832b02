"""Engine, sessions and the declarative base.

One ``Database`` per app. Request handlers get a session from ``get_session()``;
services take that session as a plain argument and own the transaction through
``transaction()``; ``Prepared`` runs a statement worth planning once per connection. Tests bind the session factory to an outer connection so
every test rolls back (see tests/conftest.py).

With a read replica (``DATABASE_REPLICA_URL``) sessions are ``RoutedSession``s: they start on
the primary, and gridmap.web switches a request's reads to the replica (``Replica.ready_for``)
when its route allows it; every write still goes to the primary.
"""

from __future__ import annotations

import logging
import re
import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.dml import UpdateBase

log = logging.getLogger(__name__)

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


# Session.info keys of a RoutedSession: the replica engine its reads go to (None: the primary),
# whether its open transaction wrote on the primary, and whether a transaction that did committed.
READ_REPLICA = "gridmap.read_replica"
WRITING = "gridmap.writing"
COMMITTED_WRITE = "gridmap.committed_write"

# Is the standby streaming and at most :max_lag seconds behind (nothing received is left to
# replay, or the last transaction it replayed committed that recently on the primary), and how
# far has it replayed?
_REPLICA_STATE = text("""
    SELECT COALESCE(pg_is_in_recovery()
        AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')
        AND (pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
             OR now() - pg_last_xact_replay_timestamp() <= make_interval(secs => :max_lag)), false),
        CAST(pg_last_wal_replay_lsn() AS text)
""")


def lsn_value(lsn: str) -> int:
    """A WAL position ``X/Y`` (hex) as a number, for comparing."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


class Replica:
    """A streaming read replica. ``ready_for(lsn)``: can it serve a read that must see the write
    at ``lsn``? Its state is asked at most every ``cache_s`` seconds per process (a replay
    position known a moment ago only under-states how far it has got: read-your-writes holds);
    an unreachable replica answers no, and is not asked again for ``retry_s`` seconds."""

    def __init__(self, url: str, max_lag_s: float, retry_s: float = 5.0, cache_s: float = 0.1):
        self.engine: Engine = create_engine(sqlalchemy_url(url), pool_size=5, max_overflow=10,
                                            connect_args={"connect_timeout": 2})
        self.max_lag_s = max_lag_s
        self.retry_s = retry_s
        self.cache_s = cache_s
        self._down_until = 0.0
        self._state: tuple[float, bool, int] = (0.0, False, 0)  # asked at, keeping up, replayed up to

    def ready_for(self, lsn: str) -> bool:
        now = time.monotonic()
        if now < self._down_until:
            return False
        asked, keeping_up, replayed = self._state
        if now - asked >= self.cache_s or replayed < lsn_value(lsn):
            try:
                with self.engine.connect() as connection:
                    keeping_up, position = connection.execute(_REPLICA_STATE, {"max_lag": self.max_lag_s}).one()
            except DBAPIError as error:
                self.mark_down(error)
                return False
            replayed = lsn_value(position) if position else 0
            self._state = (now, bool(keeping_up), replayed)
        return keeping_up and replayed >= lsn_value(lsn)

    def mark_down(self, error: BaseException) -> None:
        log.warning("read replica unavailable, reading from the primary for %ss: %s", self.retry_s, error)
        self._down_until = time.monotonic() + self.retry_s
        self._state = (0.0, False, 0)


class RoutedSession(Session):
    """A session that reads from ``info[READ_REPLICA]`` while that is set. Any write — a flush,
    an INSERT/UPDATE/DELETE — goes to the primary and turns the rest of the session's reads to
    the primary too; ``info[WRITING]`` notes a statement on the primary that may have written
    (anything but a plain SELECT), so gridmap.web remembers the commit's LSN for the caller."""

    def get_bind(self, mapper: Any = None, *, clause: Any = None, bind: Any = None, **kw: Any):
        if bind is not None:
            return bind
        replica = self.info.get(READ_REPLICA)
        if replica is not None:
            if not (self._flushing or isinstance(clause, UpdateBase)):
                return replica
            self.info[READ_REPLICA] = None
        if self._flushing or not getattr(clause, "is_select", False):
            self.info[WRITING] = True
        return super().get_bind(mapper, clause=clause, **kw)


@event.listens_for(RoutedSession, "before_commit")
def _before_commit(session: Session) -> None:
    """A statement on the primary that was not a plain SELECT (raw SQL is never one to SQLAlchemy)
    may only have read: the caller's LSN moves only when this transaction really wrote."""
    if session.info.get(WRITING):
        session.flush()
        wrote = session.execute(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")).scalar()
        session.info[WRITING] = bool(wrote)


@event.listens_for(RoutedSession, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(WRITING, False):
        session.info[COMMITTED_WRITE] = True


@event.listens_for(RoutedSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(WRITING, None)


# A pooled connection is checked before use (a round trip, "SELECT 1") only when it may be
# dead: the server closed it or sent something unasked (its socket is readable: a terminated
# backend's FATAL message and EOF), or it sat unused for PING_AFTER_IDLE_S. A connection in
# constant use is not pinged at every checkout (SQLAlchemy's pool_pre_ping did that: one round
# trip in five of a single check-in, scripts/bench/checkins).
PING_AFTER_IDLE_S = 1.0
_CHECKED_IN = "gridmap.checked_in"


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_doubtful(dialect: Any, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    checked_in = record.info.get(_CHECKED_IN)
    if checked_in is None:
        return  # just connected
    try:
        readable = bool(select.select([dbapi_connection.fileno()], [], [], 0)[0])
    except (OSError, ValueError):
        readable = True
    if not readable and time.monotonic() - checked_in < PING_AFTER_IDLE_S:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as error:  # any failure: the pool replaces the connection and tries again
        raise DisconnectionError(str(error)) from error


class Database:
    """``statement_cache=False`` behind a pooler in transaction mode: the app then keeps no
    state in a server session beyond one transaction (no ``PREPARE``; ``SET`` only as
    ``SET LOCAL``; no session advisory locks; temporary tables ``ON COMMIT DROP``).
    ``replica_url``: a streaming replica whose engine ``RoutedSession``s may read from."""

    def __init__(self, url: str, statement_cache: bool = True, replica_url: str | None = None,
                 replica_max_lag_s: float = 10.0, **engine_options: Any):
        options = {"pool_size": 5, "max_overflow": 10}
        options.update(engine_options)
        self.engine: Engine = create_engine(sqlalchemy_url(url), **options)
        event.listen(self.engine, "checkout", partial(_ping_if_doubtful, self.engine.dialect))
        event.listen(self.engine, "checkin", _note_checkin)
        self.info = {STATEMENT_CACHE: statement_cache}
        self.replica = Replica(replica_url, replica_max_lag_s) if replica_url else None
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False, info=self.info,
                                         class_=RoutedSession if self.replica else Session)

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


@contextmanager
def dbapi_cursor(session: Session, bind_arguments: dict[str, Any] | None = None) -> Iterator[Any]:
    """A DB-API cursor on the session's connection and transaction, for a hot statement that
    skips SQLAlchemy's execution machinery; the driver's errors come out as SQLAlchemy's (a
    refused value is the app's 422, a lost server its 503, as for any other statement) and a
    dead connection is dropped from the pool."""
    connection = session.connection(bind_arguments=bind_arguments)
    dbapi_connection = connection.connection.dbapi_connection
    try:
        with dbapi_connection.cursor() as cursor:
            yield cursor
    except connection.dialect.loaded_dbapi.Error as error:
        lost = connection.dialect.is_disconnect(error, dbapi_connection, None)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(None, None, error, connection.dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=connection.dialect) from error


class Prepared:
    """A statement prepared once per database connection, then run by ``EXECUTE``.

    For a statement that costs more to plan than to run: planning patrol's check-in SQL
    (CTEs over every month partition) costs about four times as much as running it for
    one check-in (1.7 ms against 0.4 ms), and the token lookup every API call makes costs
    PostgreSQL 0.08 ms as text against 0.02 ms prepared. ``sql`` names its parameters
    ``:name``; ``types`` gives each its SQL type; ``settings`` are statements sent before each
    call, in the same round trip: ``SET LOCAL`` (PostgreSQL plans a prepared statement at its
    first call, and again when a table it reads changes shape, with the settings of that
    call), a ``SAVEPOINT``. The names prepared are kept in the pooled connection's ``info``, which SQLAlchemy
    clears whenever it replaces the DBAPI connection (reconnect, pre-ping failure), and
    checked against the DBAPI connection's identity as well.
    """

    def __init__(self, name: str, sql: str, types: dict[str, str], settings: tuple[str, ...] = ()):
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        body = re.sub(r"(?<![:\w]):(\w+)", number, sql)
        self.name = name
        self.sql = sql
        self.types = types
        self.prepare = f"PREPARE {name} ({', '.join(types[n] for n in order)}) AS {body}"
        self.settings = settings
        # What is sent, in the driver's own parameter style (psycopg2's %(name)s), so that
        # SQLAlchemy does not compile a statement at each call: the settings, then the call.
        self.call = f"EXECUTE {name} (" + ", ".join(f"CAST(%({n})s AS {types[n]})" for n in order) + ")"
        self.driver_sql = "; ".join((*settings, self.call))
        # Behind a transaction-mode pooler: the statement itself, planned at every call.
        self.unprepared = text("; ".join((*settings, re.sub(
            r"(?<![:\w]):(\w+)", lambda m: f"CAST(:{m.group(1)} AS {types[m.group(1)]})", sql))))

    def first(self, session: Session, params: dict[str, Any],
              bind_arguments: dict[str, Any] | None = None) -> tuple[Any, ...] | None:
        """The statement's first row (None without one), run in the session's transaction. The
        prepared call goes straight to the DB-API cursor: SQLAlchemy's execution context and
        result for one row cost about 5% of a single check-in's CPU."""
        if not session.info.get(STATEMENT_CACHE, True):
            row = session.execute(self.unprepared, params, bind_arguments=bind_arguments).first()
            return None if row is None else tuple(row)
        pooled = session.connection(bind_arguments=bind_arguments).connection
        key = ("gridmap.prepared", id(pooled.dbapi_connection))
        done = pooled.info.setdefault(key, set())
        with dbapi_cursor(session, bind_arguments) as cursor:
            if self.name not in done:
                cursor.execute(self.prepare)  # no parameters: no %-formatting
                done.add(self.name)
            cursor.execute(self.driver_sql, params)
            return cursor.fetchone()
