"""Map builders (folium): plain data in, a folium map out; no Flask, no queries, no routes."""

from gridmap.maps.literal_text import install as _keep_rendered_text_literal

_keep_rendered_text_literal()
