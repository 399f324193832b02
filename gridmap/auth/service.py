"""Users and tokens: create users, log in, resolve a bearer token, end a user's sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gridmap.auth import throttle
from gridmap.auth.models import ApiToken, User
from gridmap.auth.passwords import hash_password, verify_password
from gridmap.auth.roles import ALL_ROLES, DEPARTMENT, PARTY_MEMBER
from gridmap.auth.scope import Scope, valid_scope
from gridmap.db import Prepared, transaction
from gridmap.errors import BadRequest, Unauthorized

# Spend the same time on unknown usernames as on wrong passwords (no user enumeration).
_DUMMY_HASH = hash_password(secrets.token_hex(8))


def scope_of(user: User) -> Scope:
    return Scope(prefix=user.scope_code, role=user.role, user_id=user.id, username=user.username,
                 party_member_id=user.party_member_id, department_id=user.department_id)


def user_json(user: User) -> dict[str, object]:
    return {"id": user.id, "username": user.username, "role": user.role, "scope": user.scope_code,
            "display_name": user.display_name}


def create_user(session: Session, username: str, password: str, role: str, scope_code: str = "",
                display_name: str = "", party_member_id: int | None = None, department_id: int | None = None) -> User:
    if role not in ALL_ROLES:
        raise BadRequest("bad_request", reason=f"role {role}")
    if not valid_scope(role, scope_code):
        raise BadRequest("invalid_scope", code=scope_code)
    if role == PARTY_MEMBER and party_member_id is None:
        raise BadRequest("party_member_unlinked")
    if role == DEPARTMENT and department_id is None:
        raise BadRequest("department_unlinked")
    with transaction(session):
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username)
            session.add(user)
        else:
            end_sessions(session, user)  # a new password: the old one's sessions end
        user.password_hash = hash_password(password)
        user.role = role
        user.scope_code = scope_code
        user.display_name = display_name or username
        user.party_member_id = party_member_id
        user.department_id = department_id if role == DEPARTMENT else None
        user.active = True
    return user


def authenticate(session: Session, username: str, password: str, address: str = "") -> User:
    """The user for these credentials; 401 when wrong, 429 after too many failures
    for the account or the client address (gridmap.auth.throttle)."""
    throttle.begin_attempt(session, username, address)  # counted as a failure unless it succeeds
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        verify_password(_DUMMY_HASH, password)
    if user is None or not verify_password(user.password_hash, password):
        raise Unauthorized("invalid_credentials")
    throttle.record_success(session, username, address)
    return user


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, ttl_hours: int) -> tuple[str, datetime]:
    """A new token for ``user`` as loaded when their password was checked: 401 if that password
    is no longer theirs or they were deactivated since. The user's row stays locked (FOR SHARE)
    until the token is committed, and ``end_sessions`` locks it first (FOR UPDATE): a password
    change either came before (this login is refused) or revokes this token too. Without the
    lock a login checked just before a change got a token that outlived it."""
    with transaction(session):
        current = session.execute(select(User.password_hash, User.active).where(User.id == user.id)
                                  .with_for_update(read=True)).one_or_none()
        if current is None or not current.active or current.password_hash != user.password_hash:
            raise Unauthorized("invalid_credentials")
        token = secrets.token_urlsafe(32)
        expires_at = datetime.now(UTC) + timedelta(hours=ttl_hours)
        session.add(ApiToken(user_id=user.id, token_sha256=_sha256(token), expires_at=expires_at))
    return token, expires_at


# The token's one rule (unknown, revoked or expired token, deactivated user: 401), for every
# caller: one indexed query, prepared (gridmap.db.Prepared) and run on the session's own
# connection and transaction, its row read as a tuple. Building ORM objects and SQLAlchemy's
# result for it took about a tenth of a single check-in's server CPU (scripts/bench/checkins).
_TOKEN_SCOPE = Prepared("gridmap_token_scope", """
SELECT u.id, u.username, u.role, u.scope_code, u.party_member_id, u.department_id, t.expires_at
  FROM api_token t JOIN app_user u ON u.id = t.user_id
 WHERE t.token_sha256 = :sha256 AND u.active AND t.revoked_at IS NULL
""", {"sha256": "text"})
_A_READ = {"clause": select(ApiToken.id)}  # how a routed session (gridmap.db) tells a read from a write


def scope_for_token(session: Session, token: str) -> Scope:
    """The scope of the user holding ``token`` (what an API operation needs)."""
    row = _TOKEN_SCOPE.first(session, {"sha256": _sha256(token)}, _A_READ)
    if row is None:
        raise Unauthorized("unauthorized")
    user_id, username, role, scope_code, party_member_id, department_id, expires_at = row
    if expires_at <= datetime.now(UTC):
        raise Unauthorized("token_expired")
    return Scope(prefix=scope_code, role=role, user_id=user_id, username=username,
                 party_member_id=party_member_id, department_id=department_id)


def user_for_token(session: Session, token: str) -> User:
    """The user holding ``token`` (pages show who is logged in), by ``scope_for_token``'s rule."""
    return session.get(User, scope_for_token(session, token).user_id)


def revoke_token(session: Session, token: str) -> None:
    with transaction(session):
        session.execute(
            update(ApiToken).where(ApiToken.token_sha256 == _sha256(token)).values(revoked_at=datetime.now(UTC))
        )


def end_sessions(session: Session, user: User) -> None:
    """Revoke every token of ``user``: API tokens and browser sessions (a login cookie carries
    one, gridmap.auth.current) alike. Inside the caller's transaction, which holds the user's
    row locked from here on (``issue_token``)."""
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=datetime.now(UTC)))
