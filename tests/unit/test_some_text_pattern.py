"""SOME_TEXT: not blank and no NUL, the same in pydantic (Rust regex) and in the OpenAPI document
(read by Python's re, as the contract fuzz reads it)."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, Field, ValidationError

from gridmap.schemas import SOME_TEXT


class Note(BaseModel):
    note: str = Field(pattern=SOME_TEXT)


@pytest.mark.parametrize(("value", "taken"), [
    ("a", True), (" 楼道 ", True), ("楼道\n堆放", True), ("\n楼道", True),
    ("", False), ("   ", False), ("\n", False), ("a\x00", False), ("\x00", False), ("a\x00b", False)])
def test_some_text_takes_text_and_refuses_blank_or_nul(value, taken):
    assert bool(re.search(SOME_TEXT, value)) is taken
    if taken:
        Note(note=value)
    else:
        with pytest.raises(ValidationError):
            Note(note=value)
