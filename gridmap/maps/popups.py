"""Popups and tooltips whose content reaches Leaflet as an escaped JavaScript string.

folium's own ``Popup`` and ``Tooltip`` write their HTML into a JavaScript template literal,
where ``${...}`` runs as code whatever HTML escaping did. These two write it with
``gridmap.escape.js_string`` into a string literal instead, so the text is inert in the
script; Leaflet then sets it as the popup's or tooltip's HTML, so user text in it must be
``html_text``-escaped too: ``Tooltip`` takes plain text and does that itself, ``Popup``
takes HTML its caller built from escaped pieces. Map builders use these, never folium's.
"""

from __future__ import annotations

import folium
from folium.template import Template

from gridmap.escape import html_text, js_string


class Popup(folium.Popup):
    """A popup with ``html`` (built from ``html_text``-escaped pieces) as its content."""

    _template = Template(
        """
        var {{ this.get_name() }} = L.popup({{ this.options|tojavascript }}).setContent("{{ this.content }}");
        {{ this._parent.get_name() }}.bindPopup({{ this.get_name() }});
        """
    )

    def __init__(self, html: str, max_width: int | str = "100%") -> None:
        super().__init__(max_width=max_width)
        self.content = js_string(html)


class Tooltip(folium.Tooltip):
    """A tooltip showing ``text`` as text."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindTooltip("{{ this.content }}", {{ this.options|tojavascript }});
        {% endmacro %}
        """
    )

    def __init__(self, text: str, sticky: bool = True) -> None:
        super().__init__("", sticky=sticky)
        self.content = js_string(html_text(text))
