"""Patrol API (API.md "Patrol"): check-ins, their list, tracks and 五必访 coverage.

``POST /api/v1/checkins`` answers a single object with the item itself (201 created,
200 duplicate, or the item's error status with the error envelope). A batch
``{"items": [...]}`` (at most 500) answers ``{"items": [...], "created", "duplicate",
"errors"}`` with one result per item in order: 200 when every item was stored (or
already was), 207 when some were rejected — each rejected item carries ``status:
"error"``, its ``http_status`` (400 malformed, 422 invalid, 409 id taken) and the error
``{"code","message","details"}``; the good items of the batch are stored all the same.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, RootModel

from gridmap.apidoc import operation
from gridmap.auth.roles import ADMIN, GRID_WORKER, SUPERVISOR
from gridmap.errors import BadRequest
from gridmap.patrol import service
from gridmap.patrol.service import MAX_BATCH, CheckinItem
from gridmap.web import check_csrf, get_session

bp = Blueprint("patrol_api", __name__)

CHECKIN_ROLES = (ADMIN, SUPERVISOR, GRID_WORKER)


class CheckinRequest(RootModel[dict[str, Any]]):
    """One check-in, or ``{"items": [...]}`` with up to 500."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        item = CheckinItem.model_json_schema(*args, **kwargs)
        defs = item.pop("$defs", {})
        defs["CheckinItem"] = item
        template = kwargs.get("ref_template", "#/$defs/{model}")
        ref = {"$ref": template.format(model="CheckinItem")}
        return {
            "title": "CheckinRequest",
            "oneOf": [ref, {"type": "object", "required": ["items"], "properties": {
                "items": {"type": "array", "maxItems": MAX_BATCH, "items": ref}}}],
            "$defs": defs,
        }


class CheckinResult(BaseModel):
    index: int | None = None
    id: str | None
    status: str
    grid: str | None = None
    grid_name: str | None = None
    in_own_grid: bool | None = None
    position: str | None = None
    flags: list[str] = []
    error: dict[str, Any] | None = None


class CheckinBatchResponse(BaseModel):
    items: list[CheckinResult]
    created: int
    duplicate: int
    errors: int


def _cookie_session_needs_csrf() -> None:
    # Pages call the API with their login cookie; a cookie alone must not be enough.
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        check_csrf()


@operation(bp, "/checkins", "POST", summary="巡查打卡（单条或批量，按手机端 UUID 去重）", tag="patrol",
           roles=CHECKIN_ROLES, body=CheckinRequest, response=CheckinBatchResponse, response_status=201,
           errors=(207, 409, 413, 422))
def create_checkins(scope, body: CheckinRequest):
    _cookie_session_needs_csrf()
    data = body.root
    batch = "items" in data
    if batch:
        raw = data["items"]
        if not isinstance(raw, list):
            raise BadRequest("bad_request", reason="items 应为数组")
    else:
        raw = [data]
    results = service.record_checkins(get_session(), scope, raw)
    if not batch:
        result = results[0]
        if result["status"] == "error":
            return jsonify({"error": result["error"]}), result["http_status"]
        result.pop("index", None)
        return jsonify(result), 201 if result["status"] == "created" else 200
    counts = {s: sum(1 for r in results if r["status"] == s) for s in ("created", "duplicate", "error")}
    body_out = {"items": results, "created": counts["created"], "duplicate": counts["duplicate"],
                "errors": counts["error"]}
    return jsonify(body_out), 207 if counts["error"] else 200
