"""/ogc: OGC API – Features Part 1 (Core, GeoJSON), declared like every API operation (roles,
scope rule, query model), so README's access table and the scope tests cover it. Its own
OpenAPI document is /ogc/api."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from gridmap.apidoc import build_openapi, operation
from gridmap.auth.roles import STAFF
from gridmap.auth.scope import AREA, GLOBAL
from gridmap.clock import now
from gridmap.errors import NotFound
from gridmap.ogc import collections as docs
from gridmap.ogc import service
from gridmap.ogc.params import ItemsQuery
from gridmap.web import get_session

PREFIX = "/ogc"
bp = Blueprint("ogc", __name__)
GEOJSON_OUT = (docs.GEOJSON,)


def _base() -> str:
    return request.host_url.rstrip("/")


def _geojson(body: dict[str, Any]) -> Response:
    return Response(current_app.json.dumps(body), mimetype=docs.GEOJSON)


def _collection(collection_id: str, scope) -> docs.Collection:
    """A collection the caller may read (hazards have routes of their own: staff only)."""
    item = docs.COLLECTIONS.get(collection_id)
    if item is None or scope.role not in item.roles or item.id == "hazards":
        raise NotFound("ogc_collection_not_found", collection=collection_id)
    return item


def _items(item: docs.Collection, scope, query: ItemsQuery) -> Response:
    page = service.items(get_session(), scope, item.id, query.bbox, query.interval if item.temporal else None,
                         query.limit, query.offset, query.within)
    args = [(k, v) for k in request.args for v in request.args.getlist(k)]
    return _geojson(docs.items_page(_base(), item, args, page, query.limit, query.offset, now().isoformat()))


@operation(bp, "", "GET", summary="OGC API – Features 首页", tag="ogc", scope=GLOBAL, prefix=PREFIX)
def landing(scope):
    return jsonify(docs.landing(_base()))


@operation(bp, "/api", "GET", summary="OGC API – Features 的 OpenAPI 文档", tag="ogc", scope=GLOBAL, prefix=PREFIX,
           content_types=(docs.OPENAPI,))
def api_document(scope):
    return Response(current_app.json.dumps(build_openapi(PREFIX, "gridmap OGC API – Features")),
                    mimetype=docs.OPENAPI)


@operation(bp, "/conformance", "GET", summary="符合的 OGC 标准类", tag="ogc", scope=GLOBAL, prefix=PREFIX)
def conformance(scope):
    return jsonify(docs.conformance())


@operation(bp, "/collections", "GET", summary="要素集合列表（按角色）", tag="ogc", scope=GLOBAL, prefix=PREFIX)
def collections(scope):
    return jsonify(docs.collections(_base(), scope.role))


@operation(bp, "/collections/<collection_id>", "GET", summary="要素集合：行政区划或网格", tag="ogc",
           scope=GLOBAL, prefix=PREFIX, errors=(404,))
def collection(scope, collection_id: str):
    return jsonify(docs.collection(_base(), _collection(collection_id, scope)))


@operation(bp, "/collections/<collection_id>/items", "GET", summary="行政区划或网格要素（分页，bbox）",
           tag="ogc", scope=AREA, prefix=PREFIX, query=ItemsQuery, errors=(404,), content_types=GEOJSON_OUT)
def items(scope, collection_id: str, query: ItemsQuery):
    return _items(_collection(collection_id, scope), scope, query)


@operation(bp, "/collections/<collection_id>/items/<feature_id>", "GET", summary="一个行政区划或网格要素",
           tag="ogc", scope=AREA, prefix=PREFIX, errors=(404,), content_types=GEOJSON_OUT)
def item(scope, collection_id: str, feature_id: str):
    found = _collection(collection_id, scope)
    return _geojson(docs.feature(_base(), found, service.area_feature(get_session(), scope, found.id, feature_id)))


HAZARDS = docs.COLLECTIONS["hazards"]


@operation(bp, "/collections/hazards", "GET", summary="要素集合：问题隐患（不含个人信息）", tag="ogc",
           scope=GLOBAL, roles=STAFF, prefix=PREFIX)
def hazards(scope):
    return jsonify(docs.collection(_base(), HAZARDS))


@operation(bp, "/collections/hazards/items", "GET", summary="问题隐患要素（分页，bbox，按上报时间 datetime）",
           tag="ogc", scope=AREA, roles=STAFF, prefix=PREFIX, query=ItemsQuery, content_types=GEOJSON_OUT)
def hazard_items(scope, query: ItemsQuery):
    return _items(HAZARDS, scope, query)


@operation(bp, "/collections/hazards/items/<int:hazard_id>", "GET", summary="一个问题隐患要素（不含个人信息）",
           tag="ogc", scope=AREA, roles=STAFF, prefix=PREFIX, errors=(404,), content_types=GEOJSON_OUT)
def hazard_item(scope, hazard_id: int):
    return _geojson(docs.feature(_base(), HAZARDS, service.hazard_feature(get_session(), scope, hazard_id)))

