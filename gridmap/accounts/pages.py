"""/login, /logout and /account/password for browsers (a session cookie, CSRF-protected forms) and
the admins' audit log page."""

from __future__ import annotations

from datetime import date
from urllib.parse import unquote, urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from pydantic import Field

from gridmap.accounts.service import MIN_PASSWORD_LENGTH, change_password
from gridmap.apidoc import PUBLIC
from gridmap.auth import audit
from gridmap.auth.current import begin_browser_session, end_browser_session
from gridmap.auth.roles import ADMIN, ALL_ROLES
from gridmap.auth.scope import ANYONE, GLOBAL, OWN_ACCOUNT
from gridmap.auth.service import authenticate
from gridmap.errors import AppError, RateLimited, Unauthorized, Unprocessable
from gridmap.labels import label
from gridmap.messages import message
from gridmap.pages import page
from gridmap.schemas import Page
from gridmap.web import check_csrf, get_session

bp = Blueprint("accounts_pages", __name__)


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the home page: no open redirect.

    Browsers read ``/\\evil``, ``\\\\evil`` and ``//evil`` alike as another host, and drop tabs
    and newlines before they look (``/\\t/evil``); some proxies decode ``%5C`` and ``%2F``. So a
    target survives only as an absolute path with neither scheme nor host, no backslash, no
    whitespace or control character and no empty segment (``//``), before or after decoding.
    """
    home = url_for("overview_pages.home")
    if not target:
        return home
    decoded = target
    for _ in range(3):  # %252F: decoded twice by a chain of proxies
        decoded = unquote(decoded)
    for text in (target, decoded):
        if "\\" in text or any(not ch.isprintable() or ch.isspace() for ch in text):
            return home
        parts = urlsplit(text)
        if parts.scheme or parts.netloc or text.startswith("//") or not parts.path.startswith("/") \
                or "//" in parts.path:
            return home
    return target


@page(bp, "/login", summary="登录", scope=ANYONE, roles=PUBLIC, methods=("GET", "POST"))
def login():
    error, status = None, 200
    if request.method == "POST":
        check_csrf()
        try:
            user = authenticate(get_session(), request.form.get("username", ""), request.form.get("password", ""),
                                request.remote_addr or "")
            begin_browser_session(user)  # 401 too if the password changed meanwhile (auth.service.issue_token)
        except (Unauthorized, RateLimited) as exc:
            error, status = exc.message, exc.status
        else:
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), status


@page(bp, "/logout", summary="退出登录", scope=ANYONE, roles=PUBLIC, methods=("POST",))
def logout():
    """Ends this browser's session on the server too: a copy of its cookie stops working."""
    check_csrf()
    end_browser_session()
    return redirect(url_for("accounts_pages.login"))


@page(bp, "/account/password", summary="修改密码", scope=OWN_ACCOUNT, roles=ALL_ROLES, methods=("GET", "POST"))
def account_password(user, scope):
    """The user changes their own password (the old one first). Every other session and token
    of the user ends; this browser goes on with a new session."""
    error, status, done = None, 200, False
    if request.method == "POST":
        new_password = request.form.get("new_password", "")
        try:
            if new_password != request.form.get("confirm_password", ""):
                raise Unprocessable("password_mismatch")
            change_password(get_session(), user, request.form.get("old_password", ""), new_password,
                            request.remote_addr or "")
        except AppError as exc:
            error, status = exc.message, exc.status
        else:
            begin_browser_session(user)
            done = True
    return render_template("account_password.html", title=message("password_page_title"), user=user, role_name=label(user.role, "role"),
                           min_length=MIN_PASSWORD_LENGTH, error=error, done=done), status


class AuditQuery(Page):
    limit: int = Field(50, ge=1, le=500)
    actor: str = Field("", max_length=64)
    action: str = Field("", max_length=64)
    since: date | None = None
    until: date | None = None


@page(bp, "/admin/audit", summary="审计日志", scope=GLOBAL, roles=(ADMIN,), query=AuditQuery, replica_reads=False)
def audit_log(user, scope, query: AuditQuery):
    """The audit log for admins: who saw which personal data, when. Read on the primary: an
    admin looking into a read must see it at once, not once the replica has replayed it."""
    entries = audit.entries(get_session(), actor=query.actor or None, action=query.action or None,
                            since=query.since, until=query.until, limit=query.limit, offset=query.offset)
    return render_template("audit.html", title=message("audit_page_title"), user=user, role_name=label(user.role, "role"),
                           page=entries, filters=query)
