"""Map builders (folium) and map pages."""

from gridmap.maps.literal_text import install as _keep_rendered_text_literal

_keep_rendered_text_literal()
