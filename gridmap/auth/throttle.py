"""Login throttling, kept in the database so every worker and every machine sees the same
counts (the app holds no state).

Each failed login is a ``login_failure`` row (username, client address, time); each
successful one refreshes a ``login_address`` row: this account logs in from this address.
Within ``WINDOW``, before any password is checked:

1. **One account from one address** (guessing): ``MAX_PER_PAIR`` failures for the same
   username from the same address, and that pair gets 429 — the right password too.
2. **One account from many addresses** (distributed guessing): ``MAX_PER_ACCOUNT``
   failures for the username from anywhere, and the account gets 429 from every address
   it has not logged in from within ``KNOWN_FOR``.
3. **Many accounts from one address** (spraying): failures for ``MAX_ACCOUNTS_PER_ADDRESS``
   distinct usernames from one address, and that address gets 429 for every account that
   has not logged in from it within ``KNOWN_FOR``.

Rules 2 and 3 spare the known (account, address) pairs: the people who log in every day
from an office, a carrier's NAT or a proxy that hides them behind one address go on
logging in while a sprayer hammers from that same address, and an attack on an account
from elsewhere does not lock its owner out where they work. Rule 1 has no exemption, so a
sprayer who shares the address gets at most ``MAX_PER_PAIR`` guesses per known account per
window, and none for any other. What this costs: during an attack, an account's first
login from an address new to it waits out the window (or logs in from elsewhere).

Each attempt counts as a failure before its password is checked (``begin_attempt``), and a
correct password takes it back with the pair's failures (``record_success``): attempts sent at
once, to one server or to several, each see those before them. The count and the insert run
under two transaction advisory locks, the username's and the address's, held for that short
transaction only (not while the password hash is checked). Counting after the check let 24
guesses sent at once through two servers get 16 answers where the limit is 5.

Every 429 is the same answer (code ``rate_limited``, same details), whichever rule gave it,
and the rules count usernames whether or not the account exists, so the throttle tells
nobody which accounts exist. Only a correct password clears anything: the failures of that
pair (the account's failures elsewhere, the address's for other accounts stay counted).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gridmap.auth.models import LoginAddress, LoginFailure
from gridmap.db import transaction
from gridmap.errors import RateLimited

WINDOW = timedelta(minutes=15)
MAX_PER_PAIR = 5
MAX_PER_ACCOUNT = 10
MAX_ACCOUNTS_PER_ADDRESS = 20
KNOWN_FOR = timedelta(days=30)
KEEP_FAILURES = 2 * WINDOW  # older failures count for nothing and are deleted


def begin_attempt(session: Session, username: str, address: str) -> None:
    """429 when a rule above stops this username from this address now; else this attempt is
    recorded as a failure until ``record_success`` says otherwise. Committed before the password
    is checked."""
    username, address = username[:64], address[:64]
    with transaction(session):
        for kind, value in (("username", username), ("address", address)):  # always in this order
            key = func.hashtextextended(f"gridmap.login.{kind}:{value}", 0)
            session.execute(select(func.pg_advisory_xact_lock(key)))
        _check(session, username, address)
        session.add(LoginFailure(username=username, address=address))
        session.execute(delete(LoginFailure).where(LoginFailure.at < datetime.now(UTC) - KEEP_FAILURES))


def _check(session: Session, username: str, address: str) -> None:
    since = datetime.now(UTC) - WINDOW
    by_pair, by_account, accounts_by_address = session.execute(
        select(
            func.count().filter(LoginFailure.username == username, LoginFailure.address == address),
            func.count().filter(LoginFailure.username == username),
            func.count(LoginFailure.username.distinct()).filter(LoginFailure.address == address),
        ).where(LoginFailure.at > since, or_(LoginFailure.username == username, LoginFailure.address == address))
    ).one()
    if by_pair >= MAX_PER_PAIR:
        _refuse()
    if (by_account >= MAX_PER_ACCOUNT or accounts_by_address >= MAX_ACCOUNTS_PER_ADDRESS) \
            and not _known(session, username, address):
        _refuse()


def _known(session: Session, username: str, address: str) -> bool:
    return session.scalar(select(LoginAddress.last_success_at).where(
        LoginAddress.username == username, LoginAddress.address == address,
        LoginAddress.last_success_at > datetime.now(UTC) - KNOWN_FOR)) is not None


def _refuse() -> None:
    raise RateLimited("rate_limited", details={"retry_after_s": int(WINDOW.total_seconds())})


def record_success(session: Session, username: str, address: str) -> None:
    """This account now logs in from this address; the pair's failures (this attempt's among
    them) are forgiven."""
    now = datetime.now(UTC)
    username, address = username[:64], address[:64]
    with transaction(session):
        session.execute(delete(LoginFailure).where(LoginFailure.username == username,
                                                   LoginFailure.address == address))
        session.execute(insert(LoginAddress).values(username=username, address=address, last_success_at=now)
                        .on_conflict_do_update(index_elements=["username", "address"],
                                               set_={"last_success_at": now}))
        session.execute(delete(LoginAddress).where(LoginAddress.last_success_at < now - KNOWN_FOR))
