"""Two users racing for the same row, each on their own connection (real commits)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import delete

from gridmap.areas.models import AdminUnit, Grid, GridVersion
from gridmap.auth.models import ApiToken, User
from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user, scope_of
from gridmap.errors import Conflict
from gridmap.hazards.models import Hazard
from tests import factories as f


@contextmanager
def committed_world(app, role: str, usernames: tuple[str, ...]) -> Iterator[tuple]:
    """The Lishui world and two users of ``role`` in the community, really committed (the
    racing connections must see them); everything committed meanwhile is removed after."""
    database = app.extensions["gridmap.db"]
    session = database.session()
    f.lishui(session)
    users = [create_user(session, name, "pass-word-1", role, f.COMMUNITY) for name in usernames]
    try:
        yield database, session, users
    finally:
        session.rollback()
        for table in (Hazard, ApiToken, User, GridVersion, Grid):
            session.execute(delete(table))
        for level in ("community", "street", "district"):
            session.execute(delete(AdminUnit).where(AdminUnit.level == level))
        session.commit()
        session.close()


def race(database, users, act: Callable[[object, Scope, object], None], head_start: float = 0.1) -> dict[str, str]:
    """Run ``act(session, scope, user)`` for each user in its own thread, the first a little
    ahead; returns each username's outcome: "won" or the Conflict's code."""
    outcomes: dict[str, str] = {}

    def run(user) -> None:
        session = database.session()
        scope = scope_of(user)
        try:
            act(session, scope, user)
            outcomes[user.username] = "won"
        except Conflict as error:
            outcomes[user.username] = error.code
        finally:
            session.close()

    threads = [threading.Thread(target=run, args=(user,)) for user in users]
    threads[0].start()
    time.sleep(head_start)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    return outcomes
