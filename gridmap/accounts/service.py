"""A user's account after it exists: a new password (set by an operator or changed by the user
with the old one) and deactivation. Each ends every session and token of the user at once
(gridmap.auth.service.end_sessions): a copied cookie or a leaked token stops working."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridmap.auth.models import User
from gridmap.auth.passwords import hash_password
from gridmap.auth.service import authenticate, end_sessions
from gridmap.db import transaction
from gridmap.errors import Forbidden, NotFound, Unauthorized, Unprocessable

MIN_PASSWORD_LENGTH = 8


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable("password_too_short", min_length=MIN_PASSWORD_LENGTH)


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("user_not_found", username=username)
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """An operator's reset (``scripts/gridmap set-password``)."""
    check_new_password(password)
    with transaction(session):
        user = _user(session, username)
        user.password_hash = hash_password(password)
        end_sessions(session, user)
    return user


def change_password(session: Session, user: User, old_password: str, new_password: str, address: str) -> None:
    """The user's own change: the old password is checked like a login (and throttled like
    one: a stolen session cannot guess it), 403 when wrong."""
    check_new_password(new_password)
    try:
        authenticate(session, user.username, old_password, address)
    except Unauthorized:
        raise Forbidden("wrong_password") from None
    with transaction(session):
        user.password_hash = hash_password(new_password)
        end_sessions(session, user)


def deactivate_user(session: Session, username: str) -> User:
    """The user can no longer log in; their cookies and tokens stop at once."""
    with transaction(session):
        user = _user(session, username)
        user.active = False
        end_sessions(session, user)
    return user
