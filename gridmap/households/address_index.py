"""The household address trigram index (``ix_household_address_trgm``, pg_trgm GIN), which
staff address search (gridmap.addresses) uses, built after a city's first large import.

Kept up row by row during a load of 5,000,000 households it cost about 40 s of the server's
CPU, about half the whole import (scripts/bench/assign). A first large load
(gridmap.households.writes) therefore drops it in the import's transaction and the import's
caller builds it once that transaction has committed, in a transaction of its own
(``ensure``): the new households are on the maps and lists as soon as the import is done,
and address search is slower (no index) until the build is. The HTTP import builds it after
its answer has been sent, the CLI import before it exits, ``db upgrade`` whenever it is
missing.

A plain ``CREATE INDEX``, not ``CONCURRENTLY``: it blocks writes to ``household`` (not
reads, nor check-ins naming a household) while it runs, but a crash can only leave the index
missing, never half-built and invalid, and ``ensure`` then builds it on the next import or
upgrade. One builder at a time (a transaction advisory lock, safe behind a pooler)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex

from gridmap.db import transaction
from gridmap.households.models import Household

NAME = "ix_household_address_trgm"
INDEX = next(index for index in Household.__table__.indexes if index.name == NAME)
_BUILDER_LOCK = select(func.pg_try_advisory_xact_lock(func.hashtextextended("gridmap." + NAME, 0)))
log = logging.getLogger(__name__)


def present(session: Session) -> bool:
    return session.scalar(select(func.to_regclass(NAME))) is not None


def drop(session: Session) -> None:
    """Drop it in the caller's transaction (a first large load; the caller then calls ``ensure``
    after its commit)."""
    session.execute(text(f'DROP INDEX IF EXISTS "{NAME}"'))


def ensure(session: Session) -> bool:
    """Build the index if it is missing, in a transaction of its own. False when it was there
    already or another builder holds the lock (that one builds it)."""
    with transaction(session):
        if present(session) or not session.scalar(_BUILDER_LOCK):
            return False
        session.execute(CreateIndex(INDEX, if_not_exists=True))
        return True


def ensure_quietly(session: Session) -> None:
    """``ensure`` after an answer has been sent: a failure is logged (the next import or
    ``db upgrade`` builds it), never raised."""
    try:
        ensure(session)
    except Exception:  # nobody is waiting for this answer: logged, never raised
        log.exception("building %s failed; the next household import or `db upgrade` builds it", NAME)
    finally:
        session.close()
