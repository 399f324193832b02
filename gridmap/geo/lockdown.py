"""GDAL and PROJ with no network, no virtual datasets and no SQL from files, process-wide.

Importing this module applies it; gridmap.geo.crs and gridmap.geo.io import it before
pyproj and pyogrio. Uploads only ever reach GDAL through gridmap.geo.io, which checks the
content against the declared type first and names the one driver that may open it; these
options are the second line: should any file or string still reach GDAL or PROJ, neither
fetches a URL, and GDAL cannot open an OGR VRT (which names other files and URLs) at all.
"""

from __future__ import annotations

import os

# Deregistered when GDAL registers its drivers (the variable must be set before pyogrio
# loads): virtual datasets that open other sources, and drivers that reach the network or
# run programs.
SKIPPED_DRIVERS = (
    "OGR_VRT", "VRT", "GDALG", "HTTP", "WFS", "OAPIF", "OGCAPI", "CSW", "NGW", "EEDA", "Elasticsearch",
    "Carto", "AmigoCloud", "PLSCENES", "GPSBabel", "AIVector", "ADBC",
)

_NO_SUCH = "gridmap-network-disabled"

GDAL_OPTIONS = {
    # /vsicurl/ and friends open only URLs ending like this, i.e. none
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": f".{_NO_SUCH}",
    "CPL_VSIL_CURL_ALLOWED_FILENAME": f"/{_NO_SUCH}",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_NETRC": "NO",
    # no directory listing of the upload's folder (siblings are stat'ed one by one)
    "GDAL_DISABLE_READDIR_ON_OPEN": "TRUE",
    # GeoPackage: no extensions, no other databases, no OGR functions or
    # VirtualOGR tables reachable from a file's own views and triggers
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "ALLOW_VIRTUAL_OGR_FROM_TRIGGER_AND_VIEW": "NO",
    "ALLOW_OGR_SQL_FUNCTIONS_FROM_TRIGGER_AND_VIEW": "NO",
    "OGR_SQLITE_LIST_VIRTUAL_OGR": "NO",
    "OGR_SQLITE_STATIC_VIRTUAL_OGR": "NO",
    "OGR_SQLITE_DIALECT_ALLOW_CREATE_VIRTUAL_TABLE": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
}


def apply() -> None:
    """Set the options (idempotent). The environment carries them to GDAL and PROJ (GDAL_SKIP
    only while pyogrio is not loaded yet: this module loads it, right after); the calls below
    reach libraries already loaded."""
    os.environ["PROJ_NETWORK"] = "OFF"
    skipped = set(os.environ.get("GDAL_SKIP", "").replace(",", " ").split()) | set(SKIPPED_DRIVERS)
    os.environ["GDAL_SKIP"] = " ".join(sorted(skipped))
    os.environ.update(GDAL_OPTIONS)
    os.environ.pop("OGR_SQLITE_LOAD_EXTENSIONS", None)

    import pyogrio
    import pyproj.network

    pyproj.network.set_network_enabled(False)
    pyogrio.set_gdal_config_options({**GDAL_OPTIONS, "OGR_SQLITE_LOAD_EXTENSIONS": None})


apply()
