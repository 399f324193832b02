"""责任交接 pages: a handover printed as a PDF for the outgoing and incoming worker to sign
(Chromium in a render slot, as the handbook), and the grid page's button that takes one."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, url_for

from gridmap.auth.scope import AREA
from gridmap.handover import service
from gridmap.handover.api import READERS, WRITERS, HandoverQuery
from gridmap.labels import labels
from gridmap.messages import message
from gridmap.pages import page
from gridmap.printing import handbook
from gridmap.printing.slots import print_in_slot
from gridmap.web import check_csrf, get_session

bp = Blueprint("handover_pages", __name__)


@page(bp, "/maps/grid/<code>/handovers/<int:handover_id>.pdf", summary="责任交接单 PDF（双方签字）", scope=AREA,
      roles=READERS, query=HandoverQuery)
def handover_pdf(user, scope, code: str, handover_id: int, query: HandoverQuery):
    handover = service.read(get_session(), scope, code, handover_id, unmask=query.unmask)
    html = render_template("handover.html", title=message("handover_title", code=code), handover=handover,
                           snap=handover["snapshot"], user=user, staff_roles=labels("staff_role"))
    pdf = print_in_slot(handbook.html_to_pdf, html, settings=current_app.config["GRIDMAP"],
                        unavailable="pdf_unavailable")
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename=grid-{code}-handover-{handover_id}.pdf"
    return response


@page(bp, "/maps/grid/<code>/handovers", summary="生成责任交接快照（联系手册页的按钮）", scope=AREA, roles=WRITERS,
      methods=("POST",))
def handover_form(user, scope, code: str):
    check_csrf()
    service.create(get_session(), scope, code, visit_tags=current_app.config["GRIDMAP"].patrol.visit_tags)
    return redirect(url_for("grid_sheet_pages.grid_print", code=code) + "#handovers", code=303)
