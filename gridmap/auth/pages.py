"""/login and /logout for browsers (a session cookie, CSRF-protected forms) and the admins' audit log page."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, redirect, render_template, request, session, url_for
from pydantic import Field

from gridmap.apidoc import PUBLIC
from gridmap.auth import audit
from gridmap.auth.roles import ADMIN, ROLE_NAMES
from gridmap.auth.scope import ANYONE, GLOBAL
from gridmap.auth.service import authenticate
from gridmap.errors import RateLimited, Unauthorized
from gridmap.pages import page
from gridmap.schemas import Page
from gridmap.web import check_csrf, get_session

bp = Blueprint("auth_pages", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("map_pages.home")


@page(bp, "/login", summary="登录", scope=ANYONE, roles=PUBLIC, methods=("GET", "POST"))
def login():
    error, status = None, 200
    if request.method == "POST":
        check_csrf()
        try:
            user = authenticate(get_session(), request.form.get("username", ""), request.form.get("password", ""),
                                request.remote_addr or "")
        except (Unauthorized, RateLimited) as exc:
            error, status = exc.message, exc.status
        else:
            session.clear()
            session["user_id"] = user.id
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), status


@page(bp, "/logout", summary="退出登录", scope=ANYONE, roles=PUBLIC, methods=("POST",))
def logout():
    check_csrf()
    session.clear()
    return redirect(url_for("auth_pages.login"))


class AuditQuery(Page):
    limit: int = Field(50, ge=1, le=500)
    actor: str = Field("", max_length=64)
    action: str = Field("", max_length=64)
    since: date | None = None
    until: date | None = None


@page(bp, "/admin/audit", summary="审计日志", scope=GLOBAL, roles=(ADMIN,), query=AuditQuery)
def audit_log(user, scope, query: AuditQuery):
    """The audit log for admins: who saw which personal data, when."""
    entries = audit.entries(get_session(), actor=query.actor or None, action=query.action or None,
                            since=query.since, until=query.until, limit=query.limit, offset=query.offset)
    return render_template("audit.html", title="审计日志", user=user, role_name=ROLE_NAMES[user.role],
                           page=entries, filters=query)
