"""Who is asking: a bearer token (API) or the login session cookie (pages)."""

from __future__ import annotations

from flask import g, request, session

from gridmap.auth.models import User
from gridmap.auth.scope import Scope
from gridmap.auth.service import scope_of, user_by_id, user_for_token
from gridmap.errors import Forbidden, Unauthorized
from gridmap.web import check_csrf, get_session

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def current_user() -> User | None:
    if "current_user" in g:
        return g.current_user
    user = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = user_for_token(get_session(), header[len("Bearer "):].strip())
    elif session.get("user_id") is not None:
        user = user_by_id(get_session(), int(session["user_id"]))
        if request.method not in SAFE_METHODS:
            # A browser sends the cookie on any site's behalf: writes need the CSRF token too.
            check_csrf()
    g.current_user = user
    return user


def require_user(roles: tuple[str, ...]) -> Scope:
    """The caller's scope; 401 when not logged in, 403 when the role may not do this."""
    user = current_user()
    if user is None:
        raise Unauthorized("unauthorized")
    if user.role not in roles:
        raise Forbidden("forbidden")
    return scope_of(user)
