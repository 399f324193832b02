"""The simulation's Citus hash is PostgreSQL's own ``hashtext``, byte for byte."""

from __future__ import annotations

import random

from sqlalchemy import text

from gridmap.sharding.citus import hashtext

# Every tail length 0–11 after whole 12-byte blocks, area codes of each level, multibyte text.
SAMPLES = ["", "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghij",
           "abcdefghijk", "abcdefghijkl", "abcdefghijklm", "3713", "371302", "371302001", "371302001001",
           "371302001001001", "兰山区", "网格化管理服务中心"]


def test_hashtext_matches_the_server(db_session):
    rng = random.Random(7)
    codes = SAMPLES + ["".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 40))) for _ in range(200)]
    rows = db_session.execute(text("SELECT s, hashtext(s) FROM unnest(CAST(:codes AS text[])) AS s"),
                              {"codes": codes}).all()
    assert len(rows) == len(codes)
    assert [(code, hashtext(code)) for code, _ in rows] == [(code, server) for code, server in rows]
