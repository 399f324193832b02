"""The collections /ogc serves and the documents that describe them: landing page, conformance,
collection metadata, and the links every response carries (OGC API – Features Part 1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from gridmap.auth.roles import ALL_ROLES, STAFF
from gridmap.labels import label
from gridmap.messages import message
from gridmap.ogc.params import CRS84

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


@dataclass(frozen=True)
class Collection:
    id: str
    roles: tuple[str, ...]  # who may read it: the roles of the API operation serving the same rows
    temporal: str | None = None  # the property ``datetime`` filters on


# Area levels (the API's /areas and /grids: every role), then hazards (the hazard API's: staff).
COLLECTIONS = {c.id: c for c in (
    Collection("districts", ALL_ROLES), Collection("streets", ALL_ROLES), Collection("communities", ALL_ROLES),
    Collection("grids", ALL_ROLES), Collection("hazards", STAFF, temporal="created_at"),
)}
AREA_LEVELS = {"districts": "district", "streets": "street", "communities": "community"}


def visible(role: str) -> list[Collection]:
    return [c for c in COLLECTIONS.values() if role in c.roles]


def _link(href: str, rel: str, kind: str, title: str | None = None) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": kind, **({"title": title} if title else {})}


def landing(base: str) -> dict[str, Any]:
    return {
        "title": message("ogc_title"),
        "description": message("ogc_description"),
        "links": [
            _link(f"{base}/ogc", "self", JSON),
            _link(f"{base}/ogc/api", "service-desc", OPENAPI),
            _link(f"{base}/ogc/conformance", "conformance", JSON),
            _link(f"{base}/ogc/collections", "data", JSON),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def collection(base: str, item: Collection) -> dict[str, Any]:
    url = f"{base}/ogc/collections/{item.id}"
    document: dict[str, Any] = {
        "id": item.id,
        "title": label(item.id, "ogc_collection"),
        "itemType": "feature",
        "crs": [CRS84],
        "links": [_link(url, "self", JSON), _link(f"{url}/items", "items", GEOJSON)],
    }
    if item.temporal:
        document["extent"] = {"temporal": {"interval": [[None, None]], "trs":
                                           "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}}
    return document


def collections(base: str, role: str) -> dict[str, Any]:
    return {
        "links": [_link(f"{base}/ogc/collections", "self", JSON)],
        "collections": [collection(base, c) for c in visible(role)],
    }


def items_page(base: str, item: Collection, args: list[tuple[str, str]], page: dict[str, Any],
               limit: int, offset: int, stamp: str) -> dict[str, Any]:
    """The FeatureCollection of one page, with self, collection, next and prev links (the
    caller's parameters kept, ``offset`` moved)."""
    url = f"{base}/ogc/collections/{item.id}/items"
    kept = [(k, v) for k, v in args if k != "offset"]

    def at(start: int) -> str:
        return f"{url}?{urlencode([*kept, ('offset', str(start))])}"

    returned = len(page["features"])
    links = [_link(at(offset), "self", GEOJSON), _link(f"{base}/ogc/collections/{item.id}", "collection", JSON)]
    if offset + returned < page["matched"]:
        links.append(_link(at(offset + returned), "next", GEOJSON))
    if offset > 0:
        links.append(_link(at(max(0, offset - limit)), "prev", GEOJSON))
    return {"type": "FeatureCollection", "features": page["features"], "numberMatched": page["matched"],
            "numberReturned": returned, "timeStamp": stamp, "links": links}


def feature(base: str, item: Collection, body: dict[str, Any]) -> dict[str, Any]:
    url = f"{base}/ogc/collections/{item.id}"
    return {**body, "links": [_link(f"{url}/items/{body['id']}", "self", GEOJSON),
                              _link(url, "collection", JSON)]}
