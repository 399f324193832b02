"""Helpers of the residents' form tests: solve a challenge, send a report."""

from __future__ import annotations

import hashlib
import itertools

from gridmap.public.challenge import leading_zero_bits

IN_A = (119.884, 28.455)  # inside grid A (tests.factories.BOXES)


def solve(challenge: str, bits: int) -> str:
    for n in itertools.count():
        nonce = format(n, "x")
        if leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) >= bits:
            return nonce
    raise AssertionError("unreachable")


def solved(client) -> dict[str, str]:
    body = client.get("/api/v1/public/challenge").get_json()
    return {"challenge": body["challenge"], "nonce": solve(body["challenge"], body["bits"])}


def form(grid: str, **fields) -> dict:
    data = {"grid": grid, "category": "fire", "description": "楼道堆满杂物，堵住了消防通道",
            "lon": str(IN_A[0]), "lat": str(IN_A[1])}
    data.update({k: v for k, v in fields.items() if v is not None})
    return data


def report(client, grid: str, *, files=(), headers=None, **fields):
    data = form(grid, **fields)
    if "challenge" not in fields:
        data.update(solved(client))
    data["file"] = list(files)
    return client.post("/api/v1/public/reports", data=data, content_type="multipart/form-data",
                       headers=headers or {})
