"""No user's words are evaluated as a Jinja template when a map page is rendered (a grid
worker's "{{ lipsum.__globals__.os.getpid() }}" in a key place's note ran on the server)."""

from __future__ import annotations

import folium
import pytest

import gridmap.maps  # noqa: F401 - installs gridmap.maps.literal_text
from gridmap.maps.popups import Popup, Tooltip

EXPRESSIONS = ["{{ 7*7 }}", "{% if true %}IF{% endif %}", "{# comment #}", "{{", "{%", "{{ ''.__class__ }}"]


def _page(text: str) -> str:
    m = folium.Map(location=[28.455, 119.885], tiles=None)
    folium.Marker([28.455, 119.885], popup=Popup(text), tooltip=Tooltip(text)).add_to(m)
    feature = {"type": "Feature", "properties": {"note": text},
               "geometry": {"type": "Point", "coordinates": [119.885, 28.455]}}
    folium.GeoJson({"type": "FeatureCollection", "features": [feature]},
                   popup=folium.GeoJsonPopup(fields=["note"]), tooltip=folium.GeoJsonTooltip(fields=["note"])).add_to(m)
    m.get_root().html.add_child(folium.Element(f"<p>{text}</p>"))
    return m.get_root().render()


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_template_syntax_in_map_data_stays_text(text):
    html = _page(f"ZZ{text}ZZ")
    assert "ZZ49ZZ" not in html and "ZZIFZZ" not in html and "str'>" not in html
    assert f"<p>ZZ{text}ZZ</p>" in html  # the raw element shows the words as they were written


def test_rendering_twice_gives_the_same_page():
    m = folium.Map(location=[28.455, 119.885], tiles=None)
    folium.Marker([28.455, 119.885], popup=Popup("ZZ{{ 7*7 }}ZZ")).add_to(m)
    first, second = m.get_root().render(), m.get_root().render()
    assert first == second and "ZZ49ZZ" not in second and "ZZ{{ 7*7 }}ZZ" in second
