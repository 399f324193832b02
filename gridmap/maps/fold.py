"""Map controls that fold away on a phone: a layer list shown open on an office screen starts
folded (its Leaflet button opens it, a tap on the map folds it again) when the screen is at
most ``NARROW`` wide. Legends fold through ``<details class="map-fold">`` (static/js/fold.js)."""

from __future__ import annotations

import folium
from branca.element import MacroElement
from folium.template import Template

NARROW = "(max-width: 700px)"  # keep equal to static/css/gridmap.css and static/js/fold.js


class FoldOnPhones(MacroElement):
    """Fold ``control`` (an expanded folium.LayerControl) on narrow screens."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        if (window.matchMedia({{ this.narrow|tojson }}).matches) {
            {{ this.control.get_name() }}.collapse();
            {{ this._parent.get_name() }}.on("click", function () { {{ this.control.get_name() }}.collapse(); });
        }
        {% endmacro %}
        """
    )

    def __init__(self, control: folium.LayerControl) -> None:
        super().__init__()
        self._name = "FoldOnPhones"
        self.control = control
        self.narrow = NARROW
