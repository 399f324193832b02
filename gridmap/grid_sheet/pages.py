"""A grid's own pages: its 民情地图, its wall map and its printed handbook and party-member
cards. Each route takes the grid's data from grid_sheet.service and hands it to the map
builder or the print template; printing runs in a render slot (printing.slots)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from pydantic import Field

from gridmap.apidoc import may_call, parse_model
from gridmap.auth.masking import FOCUS_TAGS
from gridmap.auth.roles import ADMIN, SUPERVISOR
from gridmap.auth.scope import AREA, AREA_OWN_CONTACTS
from gridmap.clock import today
from gridmap.config import STATIC_DIR
from gridmap.grid_sheet import service
from gridmap.handover.service import list_handovers, staff_change_hook
from gridmap.labels import label, labels
from gridmap.maps.minqing import build_minqing_map
from gridmap.messages import message
from gridmap.pages import empty_state, map_parts, may_open, page
from gridmap.party.api import StaffRequest, UnmaskQuery
from gridmap.party.service import replace_grid_staff
from gridmap.printing import handbook, wallmap
from gridmap.printing.slots import print_in_slot
from gridmap.public.service import public_url
from gridmap.web import check_csrf, get_session

bp = Blueprint("grid_sheet_pages", __name__)

PRINT_CSS = STATIC_DIR / "css" / "print.css"


class PrintQuery(UnmaskQuery):
    saved: bool = Field(False, description="干部名单已保存（表单提交后的提示）")


def _minqing(scope, code: str, *, action: str, unmask: bool, public: bool = False):
    tiles = current_app.config["GRIDMAP"].tiles
    data = service.minqing_data(get_session(), scope, code, action=action, unmask=unmask, tiles=tiles, public=public)
    fmap = build_minqing_map(data["grid"], data["households"], data["members"], hazards=data["hazards"],
                             key_places=data["key_places"], tiles=tiles, masked=data["masked"], focus_tags=FOCUS_TAGS)
    return data, fmap


@page(bp, "/maps/grid/<code>", summary="民情地图", scope=AREA_OWN_CONTACTS, query=UnmaskQuery)
def grid_map(user, scope, code: str, query: UnmaskQuery):
    data, fmap = _minqing(scope, code, action="grid_map", unmask=query.unmask)
    props = data["grid"]["properties"]
    return render_template(
        "minqing.html", title=message("minqing_title", name=props["name"]), grid=props, user=user,
        role_name=label(user.role, "role"), masked=data["masked"], may_unmask=user.role == SUPERVISOR,
        members=data["counts"]["members"], **map_parts(fmap), **_household_links(user),
        empty=None if data["households"]["features"] else empty_state(message("empty_households")))


def _household_links(user) -> dict[str, bool]:
    """Whether the sheet links to the household form (基础信息采集) and to the approvals."""
    return {"may_edit_households": may_open("/households/new", user.role),
            "may_approve_households": may_open("/households/approvals", user.role)}


def _wall_page(user, scope, code: str) -> str:
    """The A3-landscape wall map page: title, date, north arrow, scale and legend. A wall
    map is public: it is built from masked data whatever the viewer may see."""
    data, fmap = _minqing(scope, code, action="grid_wall_map", unmask=False, public=True)
    props = data["grid"]["properties"]
    return render_template("wall.html", title=message("minqing_title", name=props["name"]), grid=props, user=user,
                           today=today().isoformat(), page_mm=wallmap.PAGE_MM, page_px=wallmap.PAGE_PX,
                           **_resident_qr(code), **data["counts"], **map_parts(fmap))


def _resident_qr(code: str) -> dict[str, str]:
    """The residents' form of the grid (居民吹哨, gridmap.public) as a QR code and its address."""
    url = public_url(current_app.config["GRIDMAP"].public_base_url, request.url_root, code)
    return {"public_qr": handbook.qr_svg(url), "public_url": url}


@page(bp, "/maps/grid/<code>/wall", summary="民情地图上墙版（A3 横向）", scope=AREA_OWN_CONTACTS)
def grid_wall(user, scope, code: str):
    return _wall_page(user, scope, code)


@page(bp, "/maps/grid/<code>/wall.png", summary="民情地图上墙版 PNG", scope=AREA_OWN_CONTACTS)
def grid_wall_png(user, scope, code: str):
    return _wall_export(user, scope, code, wallmap.wall_png, "image/png", "png")


@page(bp, "/maps/grid/<code>/wall.pdf", summary="民情地图上墙版 PDF", scope=AREA_OWN_CONTACTS)
def grid_wall_pdf(user, scope, code: str):
    return _wall_export(user, scope, code, wallmap.wall_pdf, "application/pdf", "pdf")


def _wall_export(user, scope, code: str, render, mimetype: str, extension: str) -> Response:
    data = print_in_slot(render, _wall_page(user, scope, code), settings=current_app.config["GRIDMAP"],
                         unavailable="wall_map_unavailable")
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"inline; filename=grid-{code}-wall-map.{extension}"
    return response


def _print_context(user, scope, code: str, *, for_pdf: bool, unmask: bool) -> dict:
    data = service.handbook_data(get_session(), scope, code, unmask=unmask)
    map_url = request.url_root.rstrip("/") + url_for("grid_sheet_pages.grid_map", code=code)
    return {
        **data, "title": message("handbook_title", name=data["grid"]["name"]), "user": user,
        "role_name": label(user.role, "role"), "staff_roles": labels("staff_role"),
        "qr": handbook.qr_svg(map_url), "map_url": map_url, "for_pdf": for_pdf, **_resident_qr(code),
        "inline_css": PRINT_CSS.read_text(encoding="utf-8") if for_pdf else None,
        "unmask_query": "?unmask=1" if unmask else "",
    }


@page(bp, "/maps/grid/<code>/print", summary="网格干部联系手册和党员联系卡", scope=AREA_OWN_CONTACTS,
      query=PrintQuery)
def grid_print(user, scope, code: str, query: PrintQuery):
    handovers = list_handovers(get_session(), scope, code)["items"] \
        if may_call("GET", "/grids/<code>/handovers", user.role) else None
    return render_template("print.html", **_print_context(user, scope, code, for_pdf=False, unmask=query.unmask),
                           may_edit_staff=user.role in STAFF_EDITORS, staff_saved=query.saved, handovers=handovers,
                           **_household_links(user))


STAFF_EDITORS = (ADMIN, SUPERVISOR)
STAFF_FIELDS = ("role", "name", "phone", "organisation", "duty")


@page(bp, "/maps/grid/<code>/staff", summary="设置网格干部名单（联系手册页的表单）", scope=AREA, roles=STAFF_EDITORS,
      methods=("POST",))
def grid_staff_form(user, scope, code: str):
    """The print page's staff editor (admins and supervisors): the whole list at once, rows
    without a name dropped; the same rules as PUT /api/v1/grids/<code>/staff."""
    check_csrf()
    columns = {name: request.form.getlist(name) for name in STAFF_FIELDS}
    rows = [{name: (columns[name][i] if i < len(columns[name]) else "").strip() or None for name in STAFF_FIELDS}
            for i in range(len(columns["name"]))]
    body = parse_model(StaffRequest, {"items": [r for r in rows if r["name"]]})
    session = get_session()
    hook = staff_change_hook(session, scope, code, visit_tags=current_app.config["GRIDMAP"].patrol.visit_tags)
    replace_grid_staff(session, scope, code, [p.model_dump() for p in body.items], on_change=hook)
    return redirect(url_for("grid_sheet_pages.grid_print", code=code, saved=1), code=303)


@page(bp, "/maps/grid/<code>/print.pdf", summary="网格干部联系手册 PDF", scope=AREA_OWN_CONTACTS, query=UnmaskQuery)
def grid_print_pdf(user, scope, code: str, query: UnmaskQuery):
    html = render_template("print.html", **_print_context(user, scope, code, for_pdf=True, unmask=query.unmask))
    pdf = print_in_slot(handbook.html_to_pdf, html, settings=current_app.config["GRIDMAP"], unavailable="pdf_unavailable")
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename=grid-{code}-handbook.pdf"
    return response
