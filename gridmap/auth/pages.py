"""/login and /logout for browsers: a session cookie, CSRF-protected forms."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from gridmap.auth.service import authenticate
from gridmap.errors import RateLimited, Unauthorized
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
