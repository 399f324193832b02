"""Mapbox Vector Tiles of grids and admin units, straight from PostGIS (ST_AsMVT)."""
