"""Nothing the app sends outlives its transaction, so PgBouncer in transaction mode can hand
each transaction to any server session (README: How it grows). Checked on every SQL string
literal in gridmap/: a session-level SET, a session advisory lock, LISTEN, a temporary table
kept past commit, or a PREPARE outside ``db.Prepared`` (which a setting turns off)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "gridmap"

RULES = {
    "session-level SET (use SET LOCAL)": re.compile(r"(?:\A|;)\s*SET\s+(?!LOCAL\b)\w+\s*(?:=|TO\b)"),
    "session advisory lock (use pg_advisory_xact_lock)": re.compile(r"pg_(?:try_)?advisory_lock(?:_shared)?\s*\("),
    "LISTEN": re.compile(r"(?:\A|;)\s*LISTEN\b"),
    "temporary table kept past commit (add ON COMMIT DROP)": re.compile(
        r"CREATE\s+TEMP(?:ORARY)?\s+TABLE(?![^;]*ON\s+COMMIT\s+DROP)"),
}
PREPARE = re.compile(r"(?:\A|;)\s*PREPARE\s+\w+")


def _strings(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)


def _findings(text: str, path: str, line: int) -> list[str]:
    found = [f"{path}:{line}: {name}" for name, rule in RULES.items() if rule.search(text)]
    if PREPARE.search(text) and path != "db.py":
        found.append(f"{path}:{line}: PREPARE outside db.Prepared")
    return found


def test_no_sql_keeps_state_in_the_server_session():
    findings = []
    for path in sorted(ROOT.rglob("*.py")):
        for line, text in _strings(path):
            findings += _findings(text, str(path.relative_to(ROOT)), line)
    assert findings == []


@pytest.mark.parametrize("sql", [
    "SET statement_timeout = 0", "SELECT 1; SET search_path TO x", "SELECT pg_advisory_lock(42)",
    "LISTEN hazards", "CREATE TEMP TABLE t (a int)", "CREATE TEMPORARY TABLE t AS SELECT 1",
])
def test_the_rules_catch_session_state(sql):
    assert _findings(sql, "x.py", 1)


@pytest.mark.parametrize("sql", [
    "SET LOCAL enable_seqscan = off", "UPDATE t\n   SET a = 1", "INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE\n  SET a = EXCLUDED.a",
    "SELECT pg_advisory_xact_lock(42)", "CREATE TEMP TABLE t (a int) ON COMMIT DROP",
])
def test_the_rules_let_transaction_state_pass(sql):
    assert _findings(sql, "x.py", 1) == []
