"""A grid's own pages: its 民情地图 and its printed handbook and party-member cards.

The route asks the party service for the grid's sheet (households masked for the
viewer, unmasked reads audited, a party member sees only their own households), shifts
it for a GCJ-02 basemap, and hands plain data to the map builder or the print template.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from pydantic import Field

from gridmap.apidoc import may_call, parse_model
from gridmap.auth.masking import FOCUS_TAGS
from gridmap.auth.roles import ADMIN, SUPERVISOR
from gridmap.auth.scope import AREA, AREA_OWN_CONTACTS
from gridmap.clock import today
from gridmap.config import STATIC_DIR
from gridmap.errors import ServiceUnavailable
from gridmap.hazards.service import open_hazards_of_grid
from gridmap.labels import label, labels
from gridmap.maps.display import for_basemap
from gridmap.maps.minqing import build_minqing_map
from gridmap.messages import message
from gridmap.pages import map_parts, page
from gridmap.party.api import StaffRequest, UnmaskQuery
from gridmap.party.service import grid_sheet, replace_grid_staff
from gridmap.places.service import list_key_places
from gridmap.printing import handbook, wallmap
from gridmap.printing.chromium import RenderError
from gridmap.printing.slots import RETRY_AFTER_S, RendersBusy, RenderSlots
from gridmap.web import check_csrf, get_session

bp = Blueprint("grid_sheet_pages", __name__)

PRINT_CSS = STATIC_DIR / "css" / "print.css"


class PrintQuery(UnmaskQuery):
    saved: bool = Field(False, description="干部名单已保存（表单提交后的提示）")


EMPTY = {"type": "FeatureCollection", "features": []}


def _open_hazards(session, scope, code: str, tiles: str | None) -> dict:
    """Open hazards of the grid (not closed or rejected) for the map's hazard layer: none for a
    role the hazard API refuses (a party member), so the page shows no more than the API."""
    if not may_call("GET", "/hazards", scope.role):
        return EMPTY
    return for_basemap(open_hazards_of_grid(session, scope, code), tiles)


def _minqing(scope, code: str, *, action: str, unmask: bool, public: bool = False):
    """The grid's sheet and its 民情地图 (folium), with hazards and key places; ``public``
    masks households whatever the viewer may see (a wall map: see ``grid_sheet``)."""
    session = get_session()
    sheet = grid_sheet(session, scope, code, unmask=unmask, action=action, public=public)
    tiles = current_app.config["GRIDMAP"].tiles
    grid = for_basemap({"type": "FeatureCollection", "features": [sheet["grid"]]}, tiles)["features"][0]
    hazards = _open_hazards(session, scope, code, tiles)
    places = for_basemap(list_key_places(session, scope, code), tiles)
    fmap = build_minqing_map(grid, for_basemap(sheet["households"], tiles), for_basemap(sheet["members"], tiles),
                             hazards=hazards, key_places=places, tiles=tiles,
                             masked=sheet["masked"], focus_tags=FOCUS_TAGS)
    counts = {"members": len(sheet["members"]["features"]), "hazards": len(hazards["features"]),
              "places": len(places["features"])}
    return sheet, fmap, counts


@page(bp, "/maps/grid/<code>", summary="民情地图", scope=AREA_OWN_CONTACTS, query=UnmaskQuery)
def grid_map(user, scope, code: str, query: UnmaskQuery):
    sheet, fmap, counts = _minqing(scope, code, action="grid_map", unmask=query.unmask)
    props = sheet["grid"]["properties"]
    return render_template(
        "minqing.html", title=message("minqing_title", name=props["name"]), grid=props, user=user,
        role_name=label(user.role, "role"), masked=sheet["masked"], may_unmask=user.role == SUPERVISOR,
        members=counts["members"], **map_parts(fmap))


def _wall_page(user, scope, code: str) -> str:
    """The A3-landscape wall map page: title, date, north arrow, scale and legend. A wall
    map is public: it is built from masked data whatever the viewer may see."""
    sheet, fmap, counts = _minqing(scope, code, action="grid_wall_map", unmask=False, public=True)
    drawn_on = today().isoformat()
    return render_template("wall.html", title=message("minqing_title", name=sheet["grid"]["properties"]["name"]),
                           grid=sheet["grid"]["properties"], user=user, today=drawn_on, page_mm=wallmap.PAGE_MM,
                           page_px=wallmap.PAGE_PX, **counts, **map_parts(fmap))


@page(bp, "/maps/grid/<code>/wall", summary="民情地图上墙版（A3 横向）", scope=AREA_OWN_CONTACTS)
def grid_wall(user, scope, code: str):
    return _wall_page(user, scope, code)


@page(bp, "/maps/grid/<code>/wall.png", summary="民情地图上墙版 PNG", scope=AREA_OWN_CONTACTS)
def grid_wall_png(user, scope, code: str):
    return _wall_export(user, scope, code, wallmap.wall_png, "image/png", "png")


@page(bp, "/maps/grid/<code>/wall.pdf", summary="民情地图上墙版 PDF", scope=AREA_OWN_CONTACTS)
def grid_wall_pdf(user, scope, code: str):
    return _wall_export(user, scope, code, wallmap.wall_pdf, "application/pdf", "pdf")


def _printed(render, page: str, unavailable: str) -> bytes:
    """``render(page)`` in one of the machine's render slots: 503 with Retry-After when all
    are taken, 503 ``unavailable`` when Chromium is missing or fails."""
    settings = current_app.config["GRIDMAP"]
    try:
        with RenderSlots(settings.max_renders, settings.render_slot_dir).hold():
            return render(page, chromium=settings.chromium)
    except RendersBusy:
        raise ServiceUnavailable("renders_busy", details={"retry_after_s": RETRY_AFTER_S}, retry_after=RETRY_AFTER_S,
                                 seconds=RETRY_AFTER_S) from None
    except RenderError:
        current_app.logger.exception("printing failed")
        raise ServiceUnavailable(unavailable) from None


def _wall_export(user, scope, code: str, render, mimetype: str, extension: str) -> Response:
    data = _printed(render, _wall_page(user, scope, code), "wall_map_unavailable")
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"inline; filename=grid-{code}-wall-map.{extension}"
    return response


def _print_context(user, scope, code: str, *, for_pdf: bool, unmask: bool) -> dict:
    session = get_session()
    sheet = grid_sheet(session, scope, code, unmask=unmask, action="grid_handbook")
    props = sheet["grid"]["properties"]
    map_url = request.url_root.rstrip("/") + url_for("grid_sheet_pages.grid_map", code=code)
    return {
        "title": message("handbook_title", name=props["name"]), "grid": props, "user": user,
        "role_name": label(user.role, "role"), "staff": sheet["staff"], "staff_roles": labels("staff_role"),
        "buildings": handbook.buildings(sheet["households"]),
        "cards": handbook.cards(sheet["households"], sheet["members"]),
        "households": len(sheet["households"]["features"]), "masked": sheet["masked"],
        "key_places": [f["properties"] for f in list_key_places(session, scope, code)["features"]],
        "qr": handbook.qr_svg(map_url), "map_url": map_url, "for_pdf": for_pdf,
        "inline_css": PRINT_CSS.read_text(encoding="utf-8") if for_pdf else None,
        "unmask_query": "?unmask=1" if unmask else "",
    }


@page(bp, "/maps/grid/<code>/print", summary="网格干部联系手册和党员联系卡", scope=AREA_OWN_CONTACTS,
      query=PrintQuery)
def grid_print(user, scope, code: str, query: PrintQuery):
    return render_template("print.html", **_print_context(user, scope, code, for_pdf=False, unmask=query.unmask),
                           may_edit_staff=user.role in STAFF_EDITORS, staff_saved=query.saved)


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
    replace_grid_staff(get_session(), scope, code, [p.model_dump() for p in body.items])
    return redirect(url_for("grid_sheet_pages.grid_print", code=code, saved=1), code=303)


@page(bp, "/maps/grid/<code>/print.pdf", summary="网格干部联系手册 PDF", scope=AREA_OWN_CONTACTS, query=UnmaskQuery)
def grid_print_pdf(user, scope, code: str, query: UnmaskQuery):
    html = render_template("print.html", **_print_context(user, scope, code, for_pdf=True, unmask=query.unmask))
    pdf = _printed(handbook.html_to_pdf, html, "pdf_unavailable")
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename=grid-{code}-handbook.pdf"
    return response
