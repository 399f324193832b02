"""The message catalogue: one entry per code, every message Chinese, templates well-formed."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from gridmap.messages import MESSAGES, message

SOURCE = Path(__file__).resolve().parents[2] / "gridmap" / "messages.py"


def test_no_code_is_defined_twice():
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    catalogue = next(node.value for node in ast.walk(tree)
                     if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "MESSAGES")
    keys = [k.value for k in catalogue.keys]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_every_message_is_chinese_and_its_template_parses():
    for code, template in MESSAGES.items():
        assert re.search(r"[\u4e00-\u9fff]", template), code
        list(string.Formatter().parse(template))


def test_missing_parameters_never_raise():
    assert message("invalid_code") == MESSAGES["invalid_code"]
    assert message("no-such-code") == MESSAGES["unprocessable"]


def test_the_residents_status_page_has_a_sentence_for_every_status():
    from gridmap.hazards.models import STATUSES

    assert [s for s in STATUSES if f"public_reply_{s}" not in MESSAGES] == []
