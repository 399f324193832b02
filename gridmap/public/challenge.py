"""Proof of work instead of a captcha (no outside service): the server hands out a signed,
expiring challenge; the page's script finds a nonce so that SHA-256(challenge ":" nonce) starts
with ``bits`` zero bits (about 2^bits hashes, a second or two on a phone at 16); the server checks
the signature, the age, the difficulty and the hash, and ``spend`` refuses a second report on the
same challenge (its id is kept in ``public_challenge_used`` until it would have expired).

A challenge is ``<issued unix time>.<random id>.<bits>.<HMAC-SHA256 of those three>``, keyed with
the app's secret key: no row is written until one is spent, so handing them out costs nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gridmap.errors import Conflict, Unprocessable
from gridmap.public.models import PublicChallengeUsed

NONCE_MAX_LENGTH = 32


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()[:32]


def issue(secret: str, bits: int, ttl_s: int, now: datetime | None = None) -> dict[str, object]:
    issued = int((now or datetime.now(UTC)).timestamp())
    payload = f"{issued}.{secrets.token_hex(12)}.{bits}"
    return {"challenge": f"{payload}.{_sign(secret, payload)}", "bits": bits, "expires_in_s": ttl_s}


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def verify(secret: str, challenge: str, nonce: str, *, bits: int, ttl_s: int,
           now: datetime | None = None) -> tuple[str, datetime]:
    """(the challenge's id, when it expires); 422 ``challenge_invalid`` for a forged, expired,
    too easy or unsolved one."""
    parts = challenge.split(".")
    refused = Unprocessable("challenge_invalid", details={"field": "challenge"})
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit() or len(nonce) > NONCE_MAX_LENGTH:
        raise refused
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _sign(secret, payload)) or int(parts[2]) < bits:
        raise refused
    issued = datetime.fromtimestamp(int(parts[0]), UTC)
    now = now or datetime.now(UTC)
    if not issued - timedelta(seconds=60) <= now <= issued + timedelta(seconds=ttl_s):
        raise refused
    if leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) < int(parts[2]):
        raise refused
    return parts[1], issued + timedelta(seconds=ttl_s)


def spend(session: Session, challenge_id: str, expires_at: datetime) -> None:
    """Mark the challenge used in the caller's transaction; 409 ``challenge_used`` for a replay."""
    session.execute(delete(PublicChallengeUsed).where(PublicChallengeUsed.expires_at < datetime.now(UTC)))
    inserted = session.execute(insert(PublicChallengeUsed).values(challenge=challenge_id, expires_at=expires_at)
                               .on_conflict_do_nothing().returning(PublicChallengeUsed.challenge)).first()
    if inserted is None:
        raise Conflict("challenge_used", details={"field": "challenge"})
