"""Hazard photos: JPEG/PNG only (sniffed, not trusted from the name or header), size-limited,
re-encoded with Pillow so no EXIF (GPS position, camera, time), JPEG comment, XMP, ICC profile
or PNG text chunk survives,
stored in ``hazard_photo`` with the SHA-256 of the stored bytes, served scoped like the hazard.

Limits (``PhotoLimits``) come from the settings: ``hazard_photo_max_mb`` (GRIDMAP_HAZARD_PHOTO_MAX_MB,
default 8; 413 above) and ``hazard_photo_max_count`` (GRIDMAP_HAZARD_PHOTO_MAX_COUNT, default 9 per hazard).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.config import MiB, Settings
from gridmap.db import transaction
from gridmap.errors import Conflict, NotFound, PayloadTooLarge, Unprocessable
from gridmap.hazards.models import Hazard, HazardPhoto

JPEG, PNG = "image/jpeg", "image/png"
MAX_PIXELS = 50_000_000  # a 50-megapixel phone photo; larger is refused as a decompression bomb
JPEG_QUALITY = 88
CLOSED = ("closed", "rejected")


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int  # one photo's upload
    max_count: int  # photos per hazard

    @classmethod
    def of(cls, settings: Settings) -> PhotoLimits:
        return cls(int(settings.hazard_photo_max_mb * MiB), settings.hazard_photo_max_count)

    @property
    def body(self) -> int:
        """A photo upload request's body: as many photos as a hazard may have, each at the limit,
        plus the form's own bytes."""
        return self.max_bytes * self.max_count + MiB


def sniff(data: bytes) -> str | None:
    """The type by the file's own magic bytes."""
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    return None


@dataclass(frozen=True)
class CleanImage:
    content_type: str
    data: bytes
    width: int
    height: int


def clean(data: bytes, limit: int) -> CleanImage:
    """Check an upload (at most ``limit`` bytes) and re-encode it without metadata (EXIF
    orientation applied first)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > limit:
        raise PayloadTooLarge("hazard_photo_too_large", limit_mb=round(limit / 1024 / 1024, 1))
    kind = sniff(data)
    if kind is None:
        raise Unprocessable("hazard_photo_type", details={"field": "file"})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as probe:
                probe.verify()  # structure and checksums, before decoding any pixels
            image = Image.open(io.BytesIO(data), formats=("JPEG", "PNG"))
            if image.width * image.height > MAX_PIXELS:
                raise Unprocessable("hazard_photo_invalid", details={"field": "file"})
            image.load()
            image = ImageOps.exif_transpose(image)  # keep it upright once the EXIF orientation is gone
    except Unprocessable:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise Unprocessable("hazard_photo_invalid", details={"field": "file"}) from None
    out = io.BytesIO()
    if kind == JPEG:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        _pixels_only(image)
        image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            image = image.convert("RGBA")
        _pixels_only(image)
        image.save(out, format="PNG", optimize=True)
    return CleanImage(kind, out.getvalue(), image.width, image.height)


def _pixels_only(image) -> None:
    """Forget what the source carried beside its pixels. Pillow writes some of ``info`` back
    on save (a JPEG's comment, a PNG's text, EXIF and ICC profile); transparency is pixels."""
    kept = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
    image.info.clear()
    image.info.update(kept)


def _hazard(session: Session, scope: Scope, hazard_id: int, lock: bool = False) -> Hazard:
    query = select(Hazard).where(Hazard.id == hazard_id)
    hazard = session.scalars(query.with_for_update() if lock else query).first()
    scope.require(hazard.grid_code if hazard else None, "hazard_not_found", id=hazard_id)
    return hazard


def _json(photo: HazardPhoto) -> dict[str, Any]:
    return {"n": photo.n, "content_type": photo.content_type, "size": photo.size, "sha256": photo.sha256,
            "width": photo.width, "height": photo.height,
            "uploaded_at": photo.uploaded_at.isoformat() if photo.uploaded_at else None, "stage": photo.stage,
            "url": f"/api/v1/hazards/{photo.hazard_id}/photos/{photo.n}"}


def cleaned(uploads: list[bytes], limits: PhotoLimits) -> list[tuple[str, CleanImage]]:
    """Each upload's checksum and its cleaned image; the first bad one refuses them all."""
    return [(hashlib.sha256(raw).hexdigest(), clean(raw, limits.max_bytes)) for raw in uploads]


def _row(hazard_id: int, n: int, original: str, image: CleanImage, user_id: int | None,
         stage: str | None = None, client_id: str | None = None) -> HazardPhoto:
    return HazardPhoto(hazard_id=hazard_id, n=n, content_type=image.content_type, data=image.data,
                       size=len(image.data), sha256=hashlib.sha256(image.data).hexdigest(),
                       original_sha256=original, width=image.width, height=image.height, uploaded_by=user_id,
                       stage=stage, client_id=client_id)


def attach_staged(session: Session, hazard_id: int, staged: list[tuple[str, str, CleanImage]],
                  user_id: int | None) -> None:
    """Store (stage, upload checksum, image) photos, numbered from 1, on a hazard just made in
    the caller's transaction (a problem solved on the spot: its photos before and after)."""
    for n, (stage, original, image) in enumerate(staged, start=1):
        session.add(_row(hazard_id, n, original, image, user_id, stage))
    session.flush()


def add_photos(session: Session, scope: Scope, hazard_id: int, uploads: list[bytes],
               limits: PhotoLimits, client_id: str | None = None) -> dict[str, Any]:
    """Attach photos to a hazard, all or none. A photo already attached (same upload
    checksum) is not stored twice; it is listed again with ``duplicate: true``.

    With ``client_id`` (the phone's outbox id of one photo) the upload is one photo, stored once
    per (hazard, client id): a re-sent one answers with the stored photo, even once the hazard
    is closed; the id with other bytes, or sent by another user, is a 409 ``client_id_taken``."""
    if not uploads:
        raise Unprocessable("hazard_photo_required", details={"field": "file"})
    if client_id is not None and len(uploads) != 1:
        raise Unprocessable("hazard_photo_client_id_one", details={"field": "file"})
    images = cleaned(uploads, limits)
    with transaction(session):
        hazard = _hazard(session, scope, hazard_id, lock=True)  # serialises numbering per hazard
        if client_id is not None and (sent := session.scalars(select(HazardPhoto).where(
                HazardPhoto.hazard_id == hazard_id, HazardPhoto.client_id == client_id)).first()) is not None:
            if sent.uploaded_by != scope.user_id or sent.original_sha256 != images[0][0]:
                raise Conflict("client_id_taken")
            return {"items": [{**_json(sent), "duplicate": True}], "total": 1}
        if hazard.status in CLOSED:
            raise Conflict("hazard_photo_closed", details={"status": hazard.status})
        items = append_cleaned(session, hazard_id, images, scope.user_id, limits, client_id)
    return {"items": items, "total": len(items)}


def append_cleaned(session: Session, hazard_id: int, images: list[tuple[str, CleanImage]], user_id: int | None,
                   limits: PhotoLimits, client_id: str | None = None) -> list[dict[str, Any]]:
    """Number and store cleaned photos after the hazard's last one, in the caller's transaction
    (the hazard's row locked): a photo already attached is listed with ``duplicate: true``;
    beyond the per-hazard limit, 422 ``hazard_photo_too_many``."""
    items: list[dict[str, Any]] = []
    existing = {p.original_sha256: p for p in session.scalars(
        select(HazardPhoto).where(HazardPhoto.hazard_id == hazard_id))}
    count = len(existing)
    last = session.scalar(select(func.coalesce(func.max(HazardPhoto.n), 0)).where(HazardPhoto.hazard_id == hazard_id))
    for original, image in images:
        if original in existing:
            items.append({**_json(existing[original]), "duplicate": True})
            continue
        count += 1
        if count > limits.max_count:
            raise Unprocessable("hazard_photo_too_many", details={"max": limits.max_count}, max=limits.max_count)
        last += 1
        photo = _row(hazard_id, last, original, image, user_id, client_id=client_id)
        session.add(photo)
        session.flush()
        existing[original] = photo
        items.append({**_json(photo), "duplicate": False})
    return items


def list_photos(session: Session, hazard_id: int) -> list[dict[str, Any]]:
    """Metadata only (no bytes); the caller has already checked the hazard's scope."""
    rows = session.execute(
        select(HazardPhoto.hazard_id, HazardPhoto.n, HazardPhoto.content_type, HazardPhoto.size,
               HazardPhoto.sha256, HazardPhoto.width, HazardPhoto.height, HazardPhoto.uploaded_at, HazardPhoto.stage)
        .where(HazardPhoto.hazard_id == hazard_id).order_by(HazardPhoto.n)).all()
    return [_json(row) for row in rows]


def get_photo(session: Session, scope: Scope, hazard_id: int, n: int) -> tuple[bytes, str, str]:
    """(bytes, content type, sha256); 404 outside the scope or when there is no such photo."""
    _hazard(session, scope, hazard_id)
    row = session.execute(select(HazardPhoto.data, HazardPhoto.content_type, HazardPhoto.sha256)
                          .where(HazardPhoto.hazard_id == hazard_id, HazardPhoto.n == n)).first()
    if row is None:
        raise NotFound("hazard_photo_not_found", id=hazard_id, n=n)
    return bytes(row.data), row.content_type, row.sha256
