"""The party member's phone page: their contact households and a visit (走访) to log for each."""

from __future__ import annotations

from flask import Blueprint, render_template

from gridmap.auth.roles import PARTY_MEMBER
from gridmap.auth.scope import AREA_OWN_CONTACTS
from gridmap.clock import this_month
from gridmap.labels import label
from gridmap.messages import message
from gridmap.pages import page
from gridmap.party import visits
from gridmap.web import get_session

bp = Blueprint("party_pages", __name__)


@page(bp, "/party/visits", summary="走访联系户（手机）", scope=AREA_OWN_CONTACTS, roles=(PARTY_MEMBER,))
def visits_page(user, scope):
    """手机走访页：党员联系的住户、各户最近走访日期、本月是否已走访，一键记录走访（备注和位置）。"""
    contacts = visits.member_contacts(get_session(), scope)
    return render_template("party_visits.html", title=message("party_visits_title"), user=user,
                           role_name=label(user.role, "role"), contacts=contacts, month=f"{this_month():%Y-%m}")
