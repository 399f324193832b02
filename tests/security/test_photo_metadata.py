"""A stored hazard photo carries pixels and nothing else: no JPEG comment, EXIF (GPS), XMP,
IPTC, ICC profile or other APPn segment, no PNG text, EXIF, ICC or private chunk; the EXIF
orientation is applied before it goes."""

from __future__ import annotations

import io
import struct

from PIL import Image, PngImagePlugin

from tests import factories as f
from tests.api.test_hazards_photos import GPS_IFD, _upload, world  # noqa: F401  (fixture)

SECRETS = (b"SECRET-COMMENT", b"SECRET-SECOND-COMMENT", b"SECRET-EXIF-MAKE", b"SECRET-XMP", b"SECRET-ICC",
           b"SECRET-IPTC", b"SECRET-APP15", b"SECRET-PNG-TEXT", b"SECRET-ZTXT", b"SECRET-ITXT", b"SECRET-PRIVATE",
           b"119.885", b"PhoneMaker")
# JPEG markers a re-encoded photo may have: SOI, JFIF APP0, quantisation and Huffman tables,
# frame, restart interval, scan.
JPEG_MARKERS = {0xD8, 0xE0, 0xDB, 0xC4, 0xC0, 0xC1, 0xC2, 0xDD, 0xDA}
PNG_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
RED, BLUE = (220, 20, 20), (20, 20, 220)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def hostile_jpeg() -> bytes:
    """64 × 48, left half red and right half blue, shown turned 90° clockwise (EXIF
    orientation 6), with a comment, EXIF with GPS, XMP and an ICC profile written by Pillow,
    and a second comment, IPTC (APP13) and APP15 spliced in after SOI."""
    image = Image.new("RGB", (64, 48), BLUE)
    image.paste(RED, (0, 0, 32, 48))
    exif = Image.Exif()
    exif[0x010F] = "SECRET-EXIF-MAKE"
    exif[0x0112] = 6
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (28.0, 27.0, 18.0), 3: "E", 4: (119.0, 53.0, 6.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95, exif=exif.tobytes(), comment=b"SECRET-COMMENT",
               xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>SECRET-XMP</x:xmpmeta>",
               icc_profile=b"\0" * 128 + b"SECRET-ICC")
    data = out.getvalue()
    spliced = (_segment(0xFE, b"SECRET-SECOND-COMMENT") + _segment(0xED, b"Photoshop 3.0\0SECRET-IPTC")
               + _segment(0xEF, b"SECRET-APP15"))
    return data[:2] + spliced + data[2:]


def hostile_png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "SECRET-PNG-TEXT")
    info.add_text("Location", "28.455,119.885", zip=True)
    info.add_text("Software", "SECRET-ZTXT", zip=True)
    info.add_itxt("Description", "SECRET-ITXT 身份证", lang="zh", tkey="说明")
    info.add(b"prVt", b"SECRET-PRIVATE")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (28.0, 27.0, 18.0)})
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (0, 128, 0)).save(out, format="PNG", pnginfo=info, exif=exif.tobytes(),
                                                 icc_profile=b"\0" * 128 + b"SECRET-ICC", dpi=(300, 300))
    return out.getvalue()


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments, SOI to SOS."""
    markers, at = [data[1]], 2
    while at < len(data):
        assert data[at] == 0xFF, f"not a marker at {at}"
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        at += 2 + struct.unpack(">H", data[at + 2:at + 4])[0]
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.append(kind)
        at += 12 + length
    return chunks


def test_the_hostile_files_carry_what_they_claim():
    jpeg, png = hostile_jpeg(), hostile_png()
    assert all(secret in jpeg for secret in (b"SECRET-COMMENT", b"SECRET-SECOND-COMMENT", b"SECRET-XMP",
                                             b"SECRET-ICC", b"SECRET-IPTC", b"SECRET-APP15", b"SECRET-EXIF-MAKE"))
    assert Image.open(io.BytesIO(jpeg)).getexif().get_ifd(GPS_IFD)
    assert {0xFE, 0xE1, 0xE2, 0xED, 0xEF} <= set(jpeg_markers(jpeg))
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"prVt", b"pHYs"} <= set(png_chunks(png))


def test_stored_photos_keep_pixels_only(client, world):  # noqa: F811
    hazard_id = world["hazard"]["id"]
    response = _upload(client, world["worker"], hazard_id, ("现场.jpg", hostile_jpeg()), ("图.png", hostile_png()))
    assert response.status_code == 201, response.get_json()
    jpeg_item, png_item = response.get_json()["items"]
    jpeg = client.get(jpeg_item["url"], headers=f.auth(world["street"])).data
    png = client.get(png_item["url"], headers=f.auth(world["street"])).data

    assert [secret for secret in SECRETS if secret in jpeg or secret in png] == []
    assert set(jpeg_markers(jpeg)) <= JPEG_MARKERS, [hex(m) for m in jpeg_markers(jpeg)]
    assert set(png_chunks(png)) <= PNG_CHUNKS, png_chunks(png)
    image = Image.open(io.BytesIO(jpeg))
    assert not image.getexif() and "comment" not in image.info and "icc_profile" not in image.info
    # Upright: turned 90° clockwise, the red left half is now the top.
    assert image.size == (48, 64)
    assert _near(image.getpixel((24, 6)), RED) and _near(image.getpixel((24, 58)), BLUE)


def _near(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))
