"""OGC API – Features Part 1 (Core, GeoJSON) under /ogc: admin units, grids and hazards for QGIS
and GDAL (the OAPIF driver), with the API's bearer tokens or the login cookie and the API's scope."""
