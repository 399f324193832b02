"""Check-in items: a phone's batch is read by the fast shape, anything else by the documented one,
and both give the same items (gridmap.patrol.items.parse_items)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from gridmap.patrol.items import ITEMS, parse_items

ID = "0193a5c4-1f00-7abc-8def-0123456789ab"


def _item(**extra):
    return {"id": ID, "lon": 120.1551, "lat": 30.2741, "accuracy_m": 8, "recorded_at": "2026-12-05T08:30:00+08:00",
            **extra}


def test_a_phones_batch_is_read_as_the_documented_item_reads_it():
    batch = [_item(), _item(id=ID.replace("ab", "cd"), household_code="H-1", note="门口有杂物", crs="gcj02",
                            recorded_at="2026-12-05T00:30:00.123456Z"),
             _item(recorded_at="2026-12-05T23:59:00+15:59")]   # an offset PostgreSQL refuses: in UTC
    parsed = parse_items(batch)
    assert parsed == ITEMS.validate_python(batch)
    assert parsed[0]["recorded_at"] == datetime(2026, 12, 5, 0, 30, tzinfo=UTC)
    assert all(item["recorded_at"].tzinfo is UTC for item in parsed)


@pytest.mark.parametrize("other", [
    {"id": ID.upper()},                              # another form of the id: its canonical text
    {"id": "{" + ID + "}"},
    {"id": ID.replace("-", "")},
])
def test_an_id_in_another_form_is_read_by_the_documented_shape(other):
    parsed = parse_items([_item(), _item(**other)])
    assert parsed == ITEMS.validate_python([_item(), _item(**other)])
    assert parsed[1]["id"] == ID and parsed[1]["recorded_at"].tzinfo is UTC


@pytest.mark.parametrize("bad", [
    {"id": ID[:-1]},
    {"id": 7},
    {"recorded_at": 1764900000},                     # a Unix time is not ISO 8601 text
    {"recorded_at": "2026-12-05T08:30:00"},          # no offset
    {"recorded_at": "0001-01-01T00:00:00+05:00"},    # before year 1 in UTC
    {"recorded_at": "1999-12-31T23:59:59+08:00"},    # years 2000-2100 only, as every moment the API takes
    {"recorded_at": "2101-01-01T00:00:00+08:00"},
    {"recorded_at": "9999-12-31T23:59:59+00:00"},
    {"accuracy_m": True},
])
def test_a_bad_item_gets_its_own_error_and_the_good_one_is_read(bad):
    good, wrong = parse_items([_item(), _item(**bad)])
    assert good == ITEMS.validate_python([_item()])[0]
    assert isinstance(wrong, ValidationError)
