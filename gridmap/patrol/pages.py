"""Patrol pages: the phone check-in page /patrol (offline first) and its service worker."""

from __future__ import annotations

from flask import Blueprint, render_template, send_file

from gridmap import ROOT
from gridmap.auth.roles import ADMIN, GRID_WORKER, ROLE_NAMES, SUPERVISOR
from gridmap.errors import Forbidden
from gridmap.maps.pages import login_required

bp = Blueprint("patrol_pages", __name__)

SERVICE_WORKER = ROOT / "static" / "patrol-sw.js"


@bp.get("/patrol")
@login_required
def patrol(user):
    """手机巡查打卡：定位、所在网格、一键打卡、走访住户、备注；离线时先存在手机上。"""
    if user.role not in (ADMIN, SUPERVISOR, GRID_WORKER):
        raise Forbidden("forbidden")
    return render_template("patrol.html", title="巡查打卡", user=user, role_name=ROLE_NAMES[user.role])


@bp.get("/patrol/sw.js")
def service_worker():
    """The service worker, served under /patrol so its scope may cover the page itself."""
    response = send_file(SERVICE_WORKER, mimetype="application/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/patrol"
    response.headers["Cache-Control"] = "no-cache"
    return response
