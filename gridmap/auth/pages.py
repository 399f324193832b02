"""/login and /logout for browsers: a session cookie, CSRF-protected forms."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, redirect, render_template, request, session, url_for
from pydantic import Field

from gridmap.apidoc import parse_model
from gridmap.auth import audit
from gridmap.auth.current import current_user
from gridmap.auth.roles import ADMIN, ROLE_NAMES
from gridmap.auth.service import authenticate
from gridmap.errors import Forbidden, RateLimited, Unauthorized
from gridmap.schemas import Page
from gridmap.web import check_csrf, get_session

bp = Blueprint("auth_pages", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("map_pages.home")


@bp.route("/login", methods=["GET", "POST"])
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


@bp.post("/logout")
def logout():
    check_csrf()
    session.clear()
    return redirect(url_for("auth_pages.login"))


@bp.get("/admin/audit")
def audit_log():
    """The audit log for admins: who saw which personal data, when."""
    user = current_user()
    if user is None:
        return redirect(url_for("auth_pages.login", next=request.full_path.rstrip("?")))
    if user.role != ADMIN:
        raise Forbidden()
    filters = parse_model(AuditQuery, request.args.to_dict())
    page = audit.entries(get_session(), actor=filters.actor or None, action=filters.action or None,
                         since=filters.since, until=filters.until, limit=filters.limit, offset=filters.offset)
    return render_template("audit.html", title="审计日志", user=user, role_name=ROLE_NAMES[user.role],
                           page=page, filters=filters)


class AuditQuery(Page):
    limit: int = Field(50, ge=1, le=500)
    actor: str = Field("", max_length=64)
    action: str = Field("", max_length=64)
    since: date | None = None
    until: date | None = None
