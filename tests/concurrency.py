"""Two users racing for the same row, each on their own connection (real commits)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from gridmap.auth.scope import Scope
from gridmap.errors import Conflict


def race(database, users, act: Callable[[object, Scope, object], None], head_start: float = 0.1) -> dict[str, str]:
    """Run ``act(session, scope, user)`` for each user in its own thread, the first a little
    ahead; returns each username's outcome: "won" or the Conflict's code."""
    outcomes: dict[str, str] = {}

    def run(user) -> None:
        session = database.session()
        scope = Scope(prefix=user.scope_code, role=user.role, user_id=user.id, username=user.username)
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
