"""The query of /ogc/collections/<id>/items: limit and offset, bbox (WGS-84 longitude/latitude,
``bbox-crs`` CRS84 only) and ``datetime`` (an instant or an interval with ``..`` for an open end)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from gridmap.clock import CHINA, day_bounds
from gridmap.schemas import BboxFilter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# RFC 3339: a full date, or a date-time with an offset (Z or ±hh:mm; none means Beijing time).
_MOMENT = re.compile(r"(?:20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}"
                     r"(?:[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:[Zz]|[+\- ][0-9]{2}:[0-9]{2})?)?")
_OPEN = ("", "..")

Interval = tuple[datetime | None, datetime | None]


def _moment(text: str, end: bool) -> datetime | None:
    """One end of an interval; a date stands for its whole Beijing day."""
    if text in _OPEN:
        return None
    if not _MOMENT.fullmatch(text):
        raise ValueError(f"not an RFC 3339 date or date-time: {text[:40]}")
    if len(text) == 10:
        start, next_day = day_bounds(date.fromisoformat(text))
        return next_day if end else start
    if len(text) > 19 and text[-6] == " ":  # a "+" in a query string not percent-encoded
        text = text[:-6] + "+" + text[-5:]
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    # In UTC: PostgreSQL takes no offset beyond ±15:59, RFC 3339 allows up to ±23:59.
    return (moment if moment.tzinfo else moment.replace(tzinfo=CHINA)).astimezone(UTC)


def parse_interval(value: str) -> Interval:
    """``a/b`` (either end open as ``..`` or empty) or one instant (a date: its whole day).
    An interval's ends are inclusive, but a date as its end reaches to the day's end."""
    if "/" in value:
        first, _, last = value.partition("/")
        start, stop = _moment(first, end=False), _moment(last, end=True)
        if start and stop and stop < start:
            raise ValueError("the interval ends before it starts")
        return start, stop
    if value in _OPEN:
        raise ValueError("an instant cannot be open")
    if len(value) == 10:
        return _moment(value, end=False), _moment(value, end=True)
    instant = _moment(value, end=False)
    return instant, instant


class ItemsQuery(BboxFilter):
    """What a client may ask of a collection's items; any other parameter is a 400 (OGC API –
    Features /req/core/query-param-unknown)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(100, ge=1, le=10_000, description="每页要素数（1–10000）")
    bbox_crs: Literal["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] | None = Field(
        None, alias="bbox-crs", description="bbox 的坐标系：仅 CRS84（WGS-84 经度、纬度）")
    moment: str | None = Field(
        None, alias="datetime", max_length=80, pattern=r"^[0-9TtZz:+.\-/ ]*$",
        description="时刻或区间（RFC 3339，开放一端用 ..），按上报时间筛选问题；行政区划与网格无时间，忽略")
    f: Literal["json", "geojson"] | None = Field(None, description="响应格式（仅 GeoJSON）")

    @field_validator("moment")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is not None:
            parse_interval(value)  # a ValueError is the 400's field error
        return value

    @property
    def interval(self) -> Interval | None:
        return None if self.moment is None else parse_interval(self.moment)
