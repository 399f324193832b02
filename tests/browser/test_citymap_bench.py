"""scripts/bench/citymap runs end to end on a tiny city (--quick): both pages load in chromium and
every figure the issue asks for is measured and printed beside its goal. A smoke test of the
bench, never a timing assertion (benchmarks measure; tests do not time)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(600)
def test_citymap_bench_measures_both_pages_on_a_tiny_city():
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts/bench/lib/citymap_bench.py"), "--quick", "--grids", "40",
         "--households", "2000", "--cap", "60", "--port", str(free_port()), "--database", "gridmap_bench_citymap_smoke"],
        check=False, cwd=ROOT, env={**os.environ, "DATABASE_URL": TEST_DATABASE_URL}, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "city: 40 grids" in out
    for line in ("first painted grid", "settled map", "bytes, first view", "GeoJSON ÷ tiles", "tab memory",
                 "tile p95 warm"):
        assert line in out, out
    assert len(re.findall(r"goal (met|missed)", out)) == 7, out  # paint, settled, bytes, ratio, memory, warm, cold
    saved = re.search(r"wrote (\S+\.json)", run.stderr)
    result = json.loads((ROOT / saved.group(1)).read_text(encoding="utf-8"))
    tiles, geojson = result["pages"]["tiles"], result["pages"]["geojson"]
    assert 0 < tiles["first_paint"] <= tiles["settled"] and tiles["tiles"] > 0 and tiles["blocked"] == 0
    assert geojson["settled"] > 0 and geojson["tiles"] == 0 and geojson["blocked"] == 0
    assert geojson["html_bytes"] > 5 * tiles["html_bytes"]  # 40 grids in the page against none
    assert tiles["errors"] == [] and geojson["errors"] == []
    assert tiles["tab_pss_mb"] > 0 and tiles["js_heap_mb"] > 0
    rows = result["tiles"]["tiles"]
    assert {r["z"] for r in rows} == {11, 12} and sum(r["features"] for r in rows if r["z"] == 11) >= 40
    assert all(r["cold"] > 0 and r["warm"] > 0 and r["count"] > 0 for r in rows)
    (ROOT / saved.group(1)).unlink()
