"""The GeoJSON the planning API takes, as validated types with their OpenAPI schema.

The document states the form (a Polygon or MultiPolygon, rings of at least 4 positions, a
position of at least 2 numbers; a LineString of at least 2 positions); gridmap.geo.validate
stays the judge of everything a schema cannot state (a ring that is not closed, a
self-intersection, a coordinate outside China), declared as data-dependent refusals.

Only the members the code reads are kept (``type`` and ``coordinates``; a feature's
``geometry`` and ``properties.community_code``): a member the code ignores never reaches
PostgreSQL, so it is not checked for NUL either.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from gridmap.schemas import CODE_PATTERN, described

_POSITION = {"type": "array", "minItems": 2, "items": {"type": "number"}}
_RING = {"type": "array", "minItems": 4, "items": _POSITION}
_POLYGON_RINGS = {"type": "array", "minItems": 1, "items": _RING}


def _geometry(kind: str, coordinates: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["type", "coordinates"],
            "properties": {"type": {"type": "string", "enum": [kind]}, "coordinates": coordinates}}


POLYGONAL_SCHEMA = described(
    {"oneOf": [_geometry("Polygon", _POLYGON_RINGS),
               _geometry("MultiPolygon", {"type": "array", "minItems": 1, "items": _POLYGON_RINGS})]},
    description="GeoJSON Polygon 或 MultiPolygon（环首尾闭合、至少 4 个坐标点，不自相交）")
LINE_SCHEMA = described(_geometry("LineString", {"type": "array", "minItems": 2, "items": _POSITION}),
                        description="GeoJSON LineString：分割线")
FEATURE_SCHEMA = described(
    {"type": "object", "required": ["geometry"],
     "properties": {"type": {"type": "string", "enum": ["Feature"]}, "geometry": POLYGONAL_SCHEMA,
                    "properties": {"type": "object", "nullable": True, "properties": {
                        "community_code": {"type": "string", "pattern": CODE_PATTERN, "nullable": True}}}}},
    description="GeoJSON Feature：方案网格（properties.community_code 为所属社区）")


def _kept_geometry(value: Any) -> Any:
    """A geometry object's ``type`` and ``coordinates``; anything else is left to the validator."""
    if isinstance(value, dict) and isinstance(value.get("type"), str) and value.get("type") != "Feature":
        return {key: value[key] for key in ("type", "coordinates") if key in value}
    return value


def _kept_feature(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {"type": "Feature", "geometry": _kept_geometry(value.get("geometry"))}
    props = value.get("properties")
    kept["properties"] = {"community_code": props.get("community_code")} if isinstance(props, dict) else props
    return kept


Polygonal = Annotated[dict[str, Any], BeforeValidator(_kept_geometry), WithJsonSchema(POLYGONAL_SCHEMA)]
Line = Annotated[dict[str, Any], BeforeValidator(_kept_geometry), WithJsonSchema(LINE_SCHEMA)]
ProposedFeature = Annotated[dict[str, Any], BeforeValidator(_kept_feature), WithJsonSchema(FEATURE_SCHEMA)]

# A reason the code keeps must say something: not empty, not only blanks (nor NUL).
REASON_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
# An optional reason (a default stands in when it is empty) is empty or says something.
OPTIONAL_REASON_PATTERN = r"^(?:[^\u0000]*[^\s\u0000][^\u0000]*)?$"
Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=REASON_PATTERN)]
OptionalReason = Annotated[str, Field(max_length=500, pattern=OPTIONAL_REASON_PATTERN)]
