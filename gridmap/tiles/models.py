"""The server-side tile cache and the change log that tells whether a cached tile is still current.

Both tables are UNLOGGED: they are a cache. A crash empties them together (PostgreSQL truncates
unlogged tables on recovery) and a standby holds neither, so a lost cache only means tiles are built
again; no answered write is lost. Migration 0039 adds the statement triggers that write the log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from gridmap.db import Base


class Xid8(UserDefinedType):
    """PostgreSQL's 64-bit transaction id (``pg_current_xact_id()``)."""

    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return "xid8"


class PgSnapshot(UserDefinedType):
    """PostgreSQL's ``pg_snapshot``: which transactions a statement saw as committed."""

    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return "pg_snapshot"


class TileChange(Base):
    """One row per statement that wrote a table tiles show (``source``: the table), by its transaction."""

    __tablename__ = "tile_change"
    __table_args__ = (
        Index("ix_tile_change_source_xid", "source", "xid"),
        Index("ix_tile_change_at", "at"),
        {"prefixes": ["UNLOGGED"]},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    xid: Mapped[str] = mapped_column(Xid8, server_default=func.pg_current_xact_id())
    at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.clock_timestamp())


class TileCache(Base):
    """A built tile for one request key (gridmap.tiles.service._key), with the snapshot it was built in."""

    __tablename__ = "tile_cache"
    __table_args__ = (
        Index("ix_tile_cache_snap_xmin", "snap_xmin"),
        Index("ix_tile_cache_built_at", "built_at"),
        {"prefixes": ["UNLOGGED"]},
    )

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64))
    features: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    snap: Mapped[str] = mapped_column(PgSnapshot)
    snap_xmin: Mapped[str] = mapped_column(Xid8)
    built_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())


class TileGridHouseholds(Base):
    """Households per grid for the tiles, as signed deltas: the sum of a grid's rows is its count.

    Statement triggers on household (migration 0039) insert one row per grid a statement changed
    (+ added, − removed), so writers never wait for each other on a counter; builds of tiles fold a
    grid's rows into one (gridmap.tiles.cache.COMPACT_SQL). A tile reads ~1 row per grid instead of
    counting every household through the index (at z10 8,000 grids, 600,000 index entries).
    Durable (logged), unlike the cache: it is the count itself.
    """

    __tablename__ = "tile_grid_households"
    __table_args__ = (Index("ix_tile_grid_households_grid_id", "grid_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_id: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
