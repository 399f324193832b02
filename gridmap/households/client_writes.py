"""Household writes sent by the phone's offline outbox with a client id: each is applied once.

The write and its ``household_client_write`` row commit together. A re-sent write (the answer
was lost when the signal dropped) finds the row and is answered with the household as it is
now, ``replayed: true`` and the fields the first write left pending, instead of being applied
again (an edit re-sent at its old version would otherwise be a 409 against itself). The id
belongs to its author and its request: another user's request with it, or the author's with
another request, is a 409 ``client_id_taken`` that says nothing of the stored write.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.errors import Conflict
from gridmap.households.models import HouseholdClientWrite

Client = tuple[str, str]  # (client id, SHA-256 of the request): gridmap.schemas.client_request


def stored(session: Session, scope: Scope, client: Client, kind: str) -> HouseholdClientWrite | None:
    """The write first sent with this id, or None. Call inside the write's transaction: it waits
    for a concurrent send of the same id to finish first."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(client[0], 0))))
    row = session.get(HouseholdClientWrite, client[0])
    if row is not None and (row.author_id != scope.user_id or row.digest != client[1] or row.kind != kind):
        raise Conflict("client_id_taken")
    return row


def remember(session: Session, scope: Scope, client: Client, kind: str, household_id: int, status: int,
             pending: list[str]) -> None:
    session.add(HouseholdClientWrite(client_id=client[0], author_id=scope.user_id, household_id=household_id,
                                     kind=kind, digest=client[1], status=status, pending=sorted(pending)))
    session.flush()
