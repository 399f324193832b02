"""Benchmark the 民情地图 builder against a naive one (one folium.Marker per household).

    scripts/bench/minqing [--households 500] [--members 50] [--runs 30] [--seed 4]

Both builders get the same synthetic grid (a 500-household compound lattice, tags and
risk at the demo rates, party members with their contact lists) and are timed in the
same run: build + render to the full HTML page. Prints p50/p95 build time, HTML size
and the ratios, against the goals (≥ 5× faster than naive, HTML ≤ 400 KB, p95 ≤ 300 ms).
Pure Python: no database needed.
"""

from __future__ import annotations

import argparse
import html
import statistics
import sys
import time
from pathlib import Path

import folium
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from gridmap.auth.masking import FOCUS_TAGS
from gridmap.maps.assets import offline_map, render_html
from gridmap.maps.minqing import build_minqing_map

TAGS = ["孤寡老人", "留守儿童", "残疾人", "困难家庭", "社区矫正", "出租房", "老党员", "失业"]
TAG_RATES = [0.02, 0.01, 0.02, 0.015, 0.001, 0.08, 0.02, 0.015]


def synthetic_grid(households: int, members: int, seed: int):
    rng = np.random.default_rng(seed)
    lon0, lat0, size = 119.905, 28.455, 0.006
    grid = {"type": "Feature", "properties": {"name": "府前社区第1网格", "code": "331102003001001"},
            "geometry": {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon0 + size, lat0],
                                                             [lon0 + size, lat0 + size], [lon0, lat0 + size],
                                                             [lon0, lat0]]]}}
    lon = lon0 + 0.0003 + rng.random(households) * (size - 0.0006)
    lat = lat0 + 0.0003 + rng.random(households) * (size - 0.0006)
    m_lon = lon0 + rng.random(members) * size
    m_lat = lat0 + rng.random(members) * size
    member_of = np.arange(households) % members
    features = []
    for i in range(households):
        tags = [t for t, r in zip(TAGS, TAG_RATES) if rng.random() < r]
        risk = rng.choice(["high", "medium", None], p=[0.004, 0.007, 0.989])
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]},
                         "properties": {"code": f"331102003001001{i:05d}",
                                        "address": f"丽水市莲都区丽阳街128号丽景花园{i // 40 + 1}幢{i % 4 + 1}单元{(i % 40) // 4 + 1}0{i % 2 + 1}",
                                        "size": int(rng.integers(1, 6)), "tags": tags, "risk_level": risk,
                                        "head_name": "张*", "phone": "138****1234",
                                        "member_id": int(member_of[i]), "member_name": f"党员{member_of[i]}"}})
    member_features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(m_lon[k]), float(m_lat[k])]},
                        "properties": {"id": k, "name": f"党员{k}", "phone": "13700000000", "branch": "第一党支部",
                                       "households": int((member_of == k).sum())}} for k in range(members)]
    return grid, {"type": "FeatureCollection", "features": features}, {"type": "FeatureCollection",
                                                                        "features": member_features}


def naive_builder(grid, households, members):
    """What one writes first: a Marker with its own popup per household and per member."""
    m = offline_map(location=[28.458, 119.908], zoom_start=17)
    folium.GeoJson(grid, name="网格边界").add_to(m)
    for feature in households["features"]:
        p = feature["properties"]
        lon, lat = feature["geometry"]["coordinates"]
        colour = {"high": "red", "medium": "orange"}.get(p["risk_level"], "blue")
        popup = (f"户号：{html.escape(p['code'])}<br>地址：{html.escape(p['address'])}<br>户主：{p['head_name']}"
                 f"<br>电话：{p['phone']}<br>标签：{'、'.join(p['tags']) or '—'}<br>联系党员：{p['member_name']}")
        folium.Marker([lat, lon], popup=folium.Popup(popup, max_width=300), tooltip=p["address"],
                      icon=folium.Icon(color=colour)).add_to(m)
    for feature in members["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        folium.Marker([lat, lon], popup=feature["properties"]["name"], icon=folium.Icon(color="red")).add_to(m)
    folium.LayerControl().add_to(m)
    return m


def timed(fn, runs: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        page = render_html(fn())
        times.append((time.perf_counter() - start) * 1000)
        size = len(page.encode("utf-8"))
    return times, size


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=500)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    grid, households, members = synthetic_grid(args.households, args.members, args.seed)
    timed(lambda: build_minqing_map(grid, households, members, focus_tags=FOCUS_TAGS), 2)  # warm-up: imports, templates
    timed(lambda: naive_builder(grid, households, members), 1)
    ours, our_size = timed(lambda: build_minqing_map(grid, households, members, focus_tags=FOCUS_TAGS), args.runs)
    naive, naive_size = timed(lambda: naive_builder(grid, households, members), args.runs)
    speedup = p95(naive) / p95(ours)
    print(f"民情地图 benchmark: {args.households} households, {args.members} party members, {args.runs} runs each")
    print(f"{'builder':<26}{'p50 ms':>10}{'p95 ms':>10}{'HTML KB':>10}")
    print(f"{'GeoJSON layers (ours)':<26}{statistics.median(ours):>10.1f}{p95(ours):>10.1f}{our_size / 1024:>10.1f}")
    print(f"{'one Marker each (naive)':<26}{statistics.median(naive):>10.1f}{p95(naive):>10.1f}"
          f"{naive_size / 1024:>10.1f}")
    goals = [("≥ 5× faster than naive (p95)", speedup >= 5, f"{speedup:.1f}×"),
             ("HTML ≤ 400 KB", our_size <= 400 * 1024, f"{our_size / 1024:.0f} KB"),
             ("p95 ≤ 300 ms", p95(ours) <= 300, f"{p95(ours):.0f} ms"),
             ("HTML smaller than naive", our_size < naive_size, f"{naive_size / our_size:.1f}× smaller")]
    for label, ok, value in goals:
        print(f"  [{'met' if ok else 'MISSED'}] {label}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
