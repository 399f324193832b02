"""Coordinate reference systems used in China, vectorised over numpy arrays.

Stored coordinates are always WGS-84 (see DESIGN.md, "Coordinates in China"). Inputs may
be declared as:

* ``wgs84``  - WGS-84 / GPS longitude, latitude (the default);
* ``gcj02``  - the obfuscated "Mars" datum of WeChat, Gaode/AMap and Tencent maps;
* ``bd09``   - Baidu's datum, an extra shift on top of GCJ-02;
* ``EPSG:n`` - anything PROJ knows, e.g. ``EPSG:4490`` (CGCS2000) or ``EPSG:4547``
  (CGCS2000 / 3-degree Gauss-Kruger CM 114E; x/y in metres, passed as "lon"/"lat").

GCJ-02 has no published inverse; ``to_wgs84`` inverts it by fixed-point iteration to
well under a millimetre. Every function accepts scalars or arrays, never raises on
NaN (NaN in -> NaN out) and never loops over points in Python.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as _ProjCRSError

from gridmap.geo import lockdown  # noqa: F401 - PROJ (and GDAL) without network, process-wide

__all__ = [
    "CrsError",
    "bd09_to_gcj02",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geometry_from_wgs84",
    "geometry_to_wgs84",
    "out_of_china",
    "parse_crs",
    "to_wgs84",
    "wgs84_to_gcj02",
]

WGS84 = "wgs84"
GCJ02 = "gcj02"
BD09 = "bd09"


class CrsError(ValueError):
    """An unknown or unsupported CRS name. ``crs`` is the value as given."""

    code = "invalid_crs"

    def __init__(self, crs: object):
        self.crs = crs
        self.params = {"crs": "" if crs is None else str(crs)}
        super().__init__(f"unsupported CRS: {crs!r}")


# --- parsing -------------------------------------------------------------------------

_ALIASES = {
    "wgs84": WGS84,
    "wgs-84": WGS84,
    "wgs_84": WGS84,
    "wgs 84": WGS84,
    "gps": WGS84,
    "crs84": WGS84,
    "gcj02": GCJ02,
    "gcj-02": GCJ02,
    "gcj_02": GCJ02,
    "gcj": GCJ02,
    "bd09": BD09,
    "bd-09": BD09,
    "bd_09": BD09,
    "bd09ll": BD09,
    "cgcs2000": "EPSG:4490",
    "cgcs-2000": "EPSG:4490",
}
NAMES = tuple(_ALIASES)  # the names parse_crs takes (any case), besides EPSG:<n>
_EPSG_RE = re.compile(r"^epsg:\s*(\d{1,6})$")
_WGS84_EPSG = 4326


def parse_crs(value: str | None) -> str:
    """Normalise a declared CRS to ``wgs84``, ``gcj02``, ``bd09`` or ``EPSG:<n>``.

    ``None`` and ``""`` mean ``wgs84``. Names are case-insensitive (``WGS84``,
    ``wgs-84``, ``GCJ-02``, ``BD09``, ``cgcs2000`` -> ``EPSG:4490``). Codes need the
    ``EPSG:`` prefix (a bare ``4547`` is refused); ``EPSG:4326`` becomes ``wgs84``.
    Raises :class:`CrsError` for anything else, including EPSG codes PROJ does not
    know and non-horizontal (e.g. vertical-only) CRSs.
    """
    if value is None:
        return WGS84
    if not isinstance(value, str):
        raise CrsError(value)
    key = value.strip().lower()
    if key == "":
        return WGS84
    if key in _ALIASES:
        return _ALIASES[key]
    match = _EPSG_RE.match(key)
    if not match:
        raise CrsError(value)
    code = int(match.group(1))
    if code == _WGS84_EPSG:
        return WGS84
    if not _epsg_usable(code):
        raise CrsError(value)
    return f"EPSG:{code}"


@lru_cache(maxsize=256)
def _epsg_usable(code: int) -> bool:
    try:
        crs = CRS.from_epsg(code)
    except _ProjCRSError:
        return False
    # Only 2-D horizontal systems make sense for lon/lat or x/y input.
    return bool(crs.is_geographic or crs.is_projected)


def is_geographic(crs: str) -> bool:
    """Whether a parsed CRS (see :func:`parse_crs`) takes longitude/latitude in degrees."""
    return crs in (WGS84, GCJ02, BD09) or CRS.from_epsg(_epsg_code(crs)).is_geographic


@lru_cache(maxsize=64)
def _transformer(code: int, forward: bool) -> Transformer:
    """Cached EPSG:code -> EPSG:4326 (forward) or the reverse; lon/lat axis order.

    pyproj >= 3.1 Transformers are thread-safe, so one cached instance is shared.
    """
    src, dst = (CRS.from_epsg(code), CRS.from_epsg(_WGS84_EPSG))
    if not forward:
        src, dst = dst, src
    return Transformer.from_crs(src, dst, always_xy=True)


# --- GCJ-02 and BD-09 ----------------------------------------------------------------

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_PI = np.pi
_X_PI = np.pi * 3000.0 / 180.0


def _as_float(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def out_of_china(lon: Any, lat: Any) -> np.ndarray:
    """The standard GCJ-02 rule: outside this box GCJ-02 equals WGS-84.

    NaN compares false everywhere, so NaN counts as "in China" and stays NaN.
    """
    lon = _as_float(lon)
    lat = _as_float(lat)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _multiple_angle_sines(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """sin(t*pi/30), sin(t*pi/12), sin(t*pi/3), sin(t*pi), sin(2*t*pi), sin(6*t*pi).

    Derived from one sin and one cos of a = t*pi/60 by multiple-angle identities
    (all six angles are multiples of a): two transcendental calls instead of six.
    Absolute error stays around 1e-14, far below what the offset needs.
    """
    a = t * (_PI / 60.0)
    s1 = np.sin(a)
    c1 = np.cos(a)
    sin2 = 2.0 * s1 * c1  # t*pi/30
    s1sq = s1 * s1
    c1sq = c1 * c1
    sin5 = s1 * (5.0 - 20.0 * s1sq + 16.0 * s1sq * s1sq)  # t*pi/12
    cos5 = c1 * (5.0 - 20.0 * c1sq + 16.0 * c1sq * c1sq)
    sin10 = 2.0 * sin5 * cos5
    cos10 = 1.0 - 2.0 * sin5 * sin5
    sin20 = 2.0 * sin10 * cos10  # t*pi/3
    cos20 = 1.0 - 2.0 * sin10 * sin10
    sin60 = sin20 * (3.0 - 4.0 * sin20 * sin20)  # t*pi
    cos60 = cos20 * (4.0 * cos20 * cos20 - 3.0)
    sin120 = 2.0 * sin60 * cos60  # 2*t*pi
    sin360 = sin120 * (3.0 - 4.0 * sin120 * sin120)  # 6*t*pi
    return sin2, sin5, sin20, sin60, sin120, sin360


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS-84 in degrees at the WGS-84 point (lon, lat), no box rule.

    The published formula, term for term; only the sines are computed more cheaply.
    """
    x = lon - 105.0
    y = lat - 35.0
    xs30, xs12, xs3, xs1, xs2pi, xs6pi = _multiple_angle_sines(x)
    ys30, ys12, ys3, ys1, _, _ = _multiple_angle_sines(y)
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * xs6pi + 20.0 * xs2pi) * (2.0 / 3.0)

    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    dlat += common
    dlat += (20.0 * ys1 + 40.0 * ys3) * (2.0 / 3.0)
    dlat += (160.0 * ys12 + 320.0 * ys30) * (2.0 / 3.0)

    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    dlon += common
    dlon += (20.0 * xs1 + 40.0 * xs3) * (2.0 / 3.0)
    dlon += (150.0 * xs12 + 300.0 * xs30) * (2.0 / 3.0)

    sinlat = np.sin(lat * (_PI / 180.0))
    coslat = np.sqrt(1.0 - sinlat * sinlat)  # lat within +-90 degrees: cos >= 0
    magic = 1.0 - _EE * sinlat * sinlat
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * _PI)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * coslat * _PI)
    return dlon, dlat


def _gcj_delta_reference(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The published formula verbatim (one sine per term); kept for the tests."""
    x = lon - 105.0
    y = lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * _PI) + 20.0 * np.sin(2.0 * x * _PI)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * _PI) + 40.0 * np.sin(y / 3.0 * _PI)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * _PI) + 320.0 * np.sin(y * _PI / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (20.0 * np.sin(6.0 * x * _PI) + 20.0 * np.sin(2.0 * x * _PI)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * _PI) + 40.0 * np.sin(x / 3.0 * _PI)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * _PI) + 300.0 * np.sin(x / 30.0 * _PI)) * 2.0 / 3.0
    radlat = lat / 180.0 * _PI
    magic = np.sin(radlat)
    magic = 1.0 - _EE * magic * magic
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * _PI)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * _PI)
    return dlon, dlat


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 -> GCJ-02 (the published forward algorithm)."""
    lon = _as_float(lon)
    lat = _as_float(lat)
    dlon, dlat = _gcj_delta(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


# Stop iterating a point once its residual is below this many degrees. The offset's
# Jacobian is below 0.01 everywhere in China, so the error left after that last
# update is under 1e-8 degrees (~1 mm); in practice ~3e-9 after three evaluations.
_GCJ_RESIDUAL_STOP_DEG = 1e-6
_GCJ_MAX_ITERATIONS = 10


def gcj02_to_wgs84(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> WGS-84 by fixed-point iteration of the forward transform.

    Solves w + delta(w) = g. The usual one-step inverse (g - delta(g)) is off by up to
    ~8 m; each further step multiplies the error by < 0.01, so two more give < 1 mm.
    Only points inside the GCJ box that have not converged are iterated.
    """
    glon = _as_float(lon)
    glat = _as_float(lat)
    if glon.shape != glat.shape:
        glon, glat = np.broadcast_arrays(glon, glat)
    shape = glon.shape
    glon = glon.ravel()
    glat = glat.ravel()
    outside = out_of_china(glon, glat)
    dlon, dlat = _gcj_delta(glon, glat)
    # First guess: subtract the offset evaluated at the GCJ point itself.
    wlon = glon - dlon
    wlat = glat - dlat
    active = np.flatnonzero(~outside & np.isfinite(wlon) & np.isfinite(wlat))
    for _ in range(_GCJ_MAX_ITERATIONS):
        if active.size == 0:
            break
        everything = active.size == glon.size  # skip the gather/scatter copies
        alon = wlon if everything else wlon[active]
        alat = wlat if everything else wlat[active]
        dlon, dlat = _gcj_delta(alon, alat)
        # How far the forward transform of the estimate lands from the GCJ point.
        rlon = alon + dlon - (glon if everything else glon[active])
        rlat = alat + dlat - (glat if everything else glat[active])
        if everything:
            wlon -= rlon
            wlat -= rlat
        else:
            wlon[active] = alon - rlon
            wlat[active] = alat - rlat
        active = active[(np.abs(rlon) > _GCJ_RESIDUAL_STOP_DEG) | (np.abs(rlat) > _GCJ_RESIDUAL_STOP_DEG)]
    wlon[outside] = glon[outside]
    wlat[outside] = glat[outside]
    return wlon.reshape(shape), wlat.reshape(shape)


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> BD-09 (Baidu's published forward algorithm; applies everywhere)."""
    lon = _as_float(lon)
    lat = _as_float(lat)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> GCJ-02: the usual closed-form approximation refined by iteration."""
    blon = _as_float(lon)
    blat = _as_float(lat)
    x = blon - 0.0065
    y = blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon = z * np.cos(theta)
    glat = z * np.sin(theta)
    # The closed form is up to ~2e-6 degrees (0.2 m) off; one fixed-point step of the
    # forward transform brings that under 2e-8 degrees (2 mm).
    flon, flat = gcj02_to_bd09(glon, glat)
    return glon - (flon - blon), glat - (flat - blat)


# --- public entry points -------------------------------------------------------------


def _epsg_code(crs: str) -> int:
    return int(crs.split(":", 1)[1])


def to_wgs84(lon: Any, lat: Any, crs: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates declared in ``crs`` to WGS-84 longitude/latitude.

    ``crs`` may be raw user input (it goes through :func:`parse_crs`, which may raise
    :class:`CrsError`). For projected EPSG systems pass x (easting) as ``lon`` and y
    (northing) as ``lat``. Returns new float64 arrays of the input's shape; NaN stays
    NaN, and points PROJ cannot transform come back as NaN too.
    """
    crs = parse_crs(crs)
    lon = _as_float(lon)
    lat = _as_float(lat)
    if crs == WGS84:
        return lon.copy(), lat.copy()
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf simply propagate
        if crs == GCJ02:
            return gcj02_to_wgs84(lon, lat)
        if crs == BD09:
            return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
    return _proj(lon, lat, _epsg_code(crs), forward=True)


def from_wgs84(lon: Any, lat: Any, crs: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS-84 longitude/latitude to ``crs`` (e.g. to draw on a GCJ-02 basemap)."""
    crs = parse_crs(crs)
    lon = _as_float(lon)
    lat = _as_float(lat)
    if crs == WGS84:
        return lon.copy(), lat.copy()
    with np.errstate(invalid="ignore", over="ignore"):
        if crs == GCJ02:
            return wgs84_to_gcj02(lon, lat)
        if crs == BD09:
            return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
    return _proj(lon, lat, _epsg_code(crs), forward=False)


def _proj(lon: np.ndarray, lat: np.ndarray, code: int, forward: bool) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.broadcast_arrays(lon, lat)
    shape = lon.shape
    xs, ys = lon.ravel(), lat.ravel()
    if xs.size == 1:  # pyproj tries its point path first; give it real scalars
        xs, ys = float(xs[0]), float(ys[0])
    x, y = _transformer(code, forward).transform(xs, ys, errcheck=False)
    x = np.array(x, dtype=np.float64).reshape(shape)
    y = np.array(y, dtype=np.float64).reshape(shape)
    # PROJ reports failures as inf; callers see NaN ("not a coordinate") instead.
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        x[bad] = np.nan
        y[bad] = np.nan
    return x, y


def _geometry(geom: Any, crs: str | None, convert) -> Any:
    crs = parse_crs(crs)
    if crs == WGS84:
        return geom

    def transformation(coords: np.ndarray) -> np.ndarray:
        x, y = convert(coords[:, 0], coords[:, 1], crs)
        return np.column_stack((x, y))

    return shapely.transform(geom, transformation, include_z=False)


def geometry_to_wgs84(geom: Any, crs: str | None) -> Any:
    """A shapely geometry (or array of them; None stays None) converted to WGS-84.

    All coordinates of all geometries go through one vectorised call. The result is
    2-D. With ``crs`` = wgs84 the input is returned unchanged (not copied).
    """
    return _geometry(geom, crs, to_wgs84)


def geometry_from_wgs84(geom: Any, crs: str | None) -> Any:
    """A WGS-84 shapely geometry (or array of them) converted to ``crs`` for display."""
    return _geometry(geom, crs, from_wgs84)
