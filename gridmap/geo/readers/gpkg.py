"""GeoPackage (.gpkg): one spatial layer, opened through GDAL's GeoPackage driver only (never
chosen by content); gridmap.geo.safe_open has checked the file before."""

from __future__ import annotations

from gridmap.geo.file_errors import EmptyFileError, FileReadError
from gridmap.geo.readers import ogr
from gridmap.geo.readers.common import FeatureTable
from gridmap.labels import label


def read(path: str, filename: str, expected: set[str] | None) -> FeatureTable:
    import pyogrio

    source = f"GPKG:{path}"
    with ogr.reading(filename, "gpkg", source, path):
        layers = [str(name) for name, gtype in pyogrio.list_layers(source) if gtype is not None]
        if len(layers) > 1:
            raise FileReadError("file_many_layers", format=label("gpkg", "file_format"), names="、".join(layers[:5]))
        if not layers:
            raise EmptyFileError()
        return ogr.read_layer(source, layers[0], None, expected)
