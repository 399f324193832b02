"""Who is asking: a bearer token (API) or the login session cookie (pages).

A login cookie is Flask's signed cookie holding a token of its own, stored (as its SHA-256)
with the API tokens: every request looks it up, so a cookie works only while its token does.
Logout revokes this browser's token (a copy of the cookie stops working; the user's other
browsers stay logged in); a password change, ``set-password`` and ``deactivate-user`` revoke
all the user's tokens (gridmap.accounts.service); a deactivated user's tokens all stop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, request, session
from sqlalchemy.orm import Session

from gridmap.auth.models import User
from gridmap.auth.scope import Scope
from gridmap.auth.service import issue_token, revoke_token, scope_for_token, scope_of, user_for_token
from gridmap.errors import Forbidden, Unauthorized
from gridmap.web import check_csrf, get_session

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_COOKIE_TOKEN = "token"
T = TypeVar("T")


def _authenticate(lookup: Callable[[Session, str], T]) -> T | None:
    """``lookup`` of the caller's token: the bearer token, else the login cookie's (then a write
    needs the CSRF token too); None when neither is sent or the cookie's token no longer works."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return lookup(get_session(), header[len("Bearer "):].strip())
    if not session.get(_COOKIE_TOKEN):
        return None
    try:
        found = lookup(get_session(), session[_COOKIE_TOKEN])
    except Unauthorized:  # logged out, password changed, deactivated or expired
        session.clear()
        return None
    if request.method not in SAFE_METHODS:
        # A browser sends the cookie on any site's behalf: writes need the CSRF token too.
        check_csrf()
    return found


def current_user() -> User | None:
    if "current_user" not in g:
        g.current_user = _authenticate(user_for_token)
    return g.current_user


def _caller_scope() -> Scope | None:
    """The caller's scope, looked up as one plain row (no User object) unless the user is known."""
    if "current_user" in g:
        return scope_of(g.current_user) if g.current_user is not None else None
    if "caller_scope" not in g:
        g.caller_scope = _authenticate(scope_for_token)
    return g.caller_scope


def begin_browser_session(user: User) -> None:
    """Log this browser in as ``user``: a fresh cookie (no session fixation) with a new token,
    valid as long as the signed cookie itself (PERMANENT_SESSION_LIFETIME)."""
    end_browser_session()
    hours = int(current_app.permanent_session_lifetime.total_seconds() // 3600)
    token, _ = issue_token(get_session(), user, max(hours, 1))
    session[_COOKIE_TOKEN] = token
    g.current_user = user
    g.pop("caller_scope", None)


def end_browser_session() -> None:
    """Log this browser out: its token is revoked, so a copy of the cookie is dead too."""
    token = session.get(_COOKIE_TOKEN)
    if token:
        revoke_token(get_session(), token)
    session.clear()
    g.pop("current_user", None)
    g.pop("caller_scope", None)


def require_user(roles: tuple[str, ...]) -> Scope:
    """The caller's scope; 401 when not logged in, 403 when the role may not do this."""
    scope = _caller_scope()
    if scope is None:
        raise Unauthorized("unauthorized")
    if scope.role not in roles:
        raise Forbidden("forbidden")
    return scope
