"""The one scope helper's edges: prefixes, `within`, and require-or-404."""

from __future__ import annotations

import pytest

from gridmap.auth.roles import SUPERVISOR
from gridmap.auth.scope import Scope
from gridmap.errors import NotFound

STREET = Scope(prefix="331102001", role=SUPERVISOR)


def test_require_passes_inside_and_refuses_outside_or_missing_alike():
    STREET.require("331102001001001", "grid_not_found")
    for code in ("331102002001001", "33110200", None):
        with pytest.raises(NotFound) as refused:
            STREET.require(code, "hazard_not_found", id=7)
        assert (refused.value.code, refused.value.params) == ("hazard_not_found", {"id": 7})


def test_require_names_the_code_when_no_params_are_given():
    with pytest.raises(NotFound) as refused:
        STREET.require("331102002", "area_not_found")
    assert refused.value.params == {"code": "331102002"}


def test_everything_covers_every_code_but_no_missing_object():
    Scope.everything().require("3311")
    with pytest.raises(NotFound):
        Scope.everything().require(None)


@pytest.mark.parametrize(("within", "expected"), [
    (None, "331102001%"), ("", "331102001%"), ("331102001002", "331102001002%"), ("331102", "331102001%"),
    ("331102002", None), ("33110200a", None),
])
def test_within_narrows_to_the_overlap_or_nothing(within, expected):
    assert STREET.like_pattern(within) == expected
