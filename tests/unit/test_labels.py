"""The catalogue of display names: every name Chinese, unknown codes shown as they are."""

from __future__ import annotations

import re

from gridmap.labels import LABELS, label, labels


def test_every_name_is_chinese_or_a_format_name():
    for kind, names in LABELS.items():
        for code, name in names.items():
            assert name.strip() == name and name, (kind, code)
            if kind != "file_format":
                assert re.search(r"[\u4e00-\u9fff]", name), (kind, code, name)


def test_label_names_a_code_and_shows_an_unknown_one_as_is():
    assert label("accepted", "hazard_status") == "已受理"
    assert label("no-such-status", "hazard_status") == "no-such-status"
    assert label(None, "hazard_status") == ""


def test_labels_keeps_catalogue_order():
    assert list(labels("staff_role"))[0] == "grid_leader"
