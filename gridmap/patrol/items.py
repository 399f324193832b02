"""A check-in item as the phone sends it (API.md "Patrol"): its shape and its validation.

A batch's items are validated in one call when none is bad (the usual case), each on its own
otherwise, so that every bad item gets its own error. A phone's batch is first read by a shape
that checks the same with no Python call per item (``_PhoneItem``).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, NotRequired, cast

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    with_config,
)
from pydantic_core import CoreSchema, core_schema
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from 3.12

from gridmap.messages import message
from gridmap.schemas import Crs, Lat, Lon


def _text(value: Any) -> Any:
    """A moment is ISO 8601 text, as the document says (pydantic alone also takes a Unix number),
    in the years 2000-2100 as every moment the API takes (year 1 and 9999 were stored, flagged)."""
    if not isinstance(value, str):
        raise ValueError(message("checkin_time_not_text"))  # noqa: TRY004 (pydantic reports a ValueError)
    if not _SUPPORTED_YEAR.match(value):
        raise ValueError(message("checkin_time_out_of_range"))
    return value


_SUPPORTED_YEAR = re.compile(r"(?:20[0-9]{2}|2100)-")


def _in_utc(moment: datetime) -> datetime:
    """The moment in UTC: PostgreSQL refuses an offset over 15:59 that ISO 8601 and Python allow
    (a check-in stamped +19:21 was a 422 'unprocessable' from the database)."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00 is before year 1 in UTC
        raise ValueError(message("checkin_time_out_of_range")) from None


def _uuid_text(value: Any, handler: ValidatorFunctionWrapHandler) -> str:
    """The id as canonical text (lower case, hyphens): as sent when it is so already (a phone's
    always is), else as pydantic's UUID reads it (another form, or its error). Building a UUID
    and its text took 1.1 µs an item of a batch of 500, this 0.3."""
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value
    return str(handler(value))


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# The members both shapes below share.
Accuracy = Annotated[float, Field(ge=0, le=100_000, strict=True, description="定位精度（米，数字；true/false 不是）")]
HouseholdCode = Annotated[str | None,
                          Field(max_length=64, description="走访的住户户号", json_schema_extra={"default": None})]
Note = Annotated[str, Field(max_length=1000, description="备注", json_schema_extra={"default": ""})]


# A dict, not a model: a batch of 500 is validated in 60% of the time. ``crs``, ``household_code``
# and ``note`` may be absent (read with ``get``).
@with_config(ConfigDict(extra="ignore"))
class CheckinItem(TypedDict):
    """One check-in as the phone sends it (API.md "Patrol")."""

    # text, not a UUID (``_uuid_text``): declared as one for pydantic's parsing and the schema
    id: Annotated[uuid.UUID, WrapValidator(_uuid_text), Field(description="手机端生成的 UUID（重复提交以此去重）")]
    lon: Lon
    lat: Lat
    crs: NotRequired[Annotated[Crs, Field(json_schema_extra={"default": None})]]
    accuracy_m: Accuracy
    recorded_at: Annotated[AwareDatetime, BeforeValidator(_text), AfterValidator(_in_utc),
                           Field(description="打卡时间（ISO 8601，带时区；2000 年至 2100 年）",
                                 json_schema_extra={"pattern": f"^{_SUPPORTED_YEAR.pattern}"})]
    household_code: NotRequired[HouseholdCode]
    note: NotRequired[Note]


def _canonical_id(_source: Any, _handler: GetCoreSchemaHandler) -> CoreSchema:
    return core_schema.str_schema(pattern=f"^{_CANONICAL_UUID.pattern}$", strict=True)


def _time_text(_source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
    return core_schema.chain_schema([core_schema.str_schema(strict=True, pattern=f"^{_SUPPORTED_YEAR.pattern}"),
                                     handler.generate_schema(AwareDatetime)])


@with_config(ConfigDict(extra="ignore"))
class _PhoneItem(TypedDict):
    """A check-in as every phone sends it: the id as canonical text, the time as text. The same
    checks as ``CheckinItem``'s, all in pydantic's own code: that one's three Python validators
    cost 0.85 µs an item of a batch of 500, twice the rest of its validation (the time is put in
    UTC afterwards). Anything else is validated as a ``CheckinItem``, which says what is wrong."""

    id: Annotated[str, GetPydanticSchema(_canonical_id)]
    lon: Lon
    lat: Lat
    crs: NotRequired[Crs]
    accuracy_m: Accuracy
    recorded_at: Annotated[datetime, GetPydanticSchema(_time_text)]
    household_code: NotRequired[HouseholdCode]
    note: NotRequired[Note]


ITEM = TypeAdapter(CheckinItem)
ITEMS = TypeAdapter(list[CheckinItem])
_PHONE_ITEMS = TypeAdapter(list[_PhoneItem])


def parse_items(raw_items: list[Any]) -> list[CheckinItem | ValidationError]:
    """Each item parsed, or its validation error. A batch with no bad item (the usual case) is
    parsed in one call, less than half the cost of one call per item; first as phones send it."""
    try:
        phone_items = _PHONE_ITEMS.validate_python(raw_items)
        for item in phone_items:
            item["recorded_at"] = item["recorded_at"].astimezone(UTC)
        return cast(list[CheckinItem | ValidationError], phone_items)
    except (ValidationError, OverflowError):
        pass
    try:
        return ITEMS.validate_python(raw_items)
    except ValidationError:
        pass
    parsed: list[CheckinItem | ValidationError] = []
    for raw in raw_items:
        try:
            parsed.append(ITEM.validate_python(raw))
        except ValidationError as exc:
            parsed.append(exc)
    return parsed
