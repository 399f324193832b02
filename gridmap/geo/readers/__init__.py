"""One reader per upload format, each behind gridmap.geo.io's ``read_features`` or ``read_table``.

Feature readers (geojson, gpkg, shapefile, kml) expose ``read(path, filename, expected)`` and
return a :class:`~gridmap.geo.readers.common.FeatureTable`; table readers (csv, xlsx) expose
``read(path)`` and return a DataFrame of strings. What they share (value-to-text conversion,
column names, the CRS a file declares, text decoding) is in ``common``; GDAL's layer reading,
shared by GeoPackage and Shapefile, in ``ogr``. Pure: no Flask, no database.
"""
