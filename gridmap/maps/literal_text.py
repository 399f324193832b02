"""Rendered map parts stay text: no user's words are ever evaluated as a Jinja template.

branca's ``Element(text)`` takes its first argument as a Jinja *template*. folium and branca
build such elements from what they have already rendered (each element's header, html and
script, a popup's script) and we build them from raw HTML, so rendering the page evaluated
that text a second time: a ``{{ ... }}`` in a popup, a GeoJSON property or a check-in note ran
on the server (template injection, found by a red-team run with a grid worker's login).
``install()`` makes an Element built from a string keep it as text; real templates still come
from each element class's own ``_template``.
"""

from __future__ import annotations

from branca.element import Element

_branca_init = Element.__init__


class LiteralTemplate:
    """Stands where branca expects a compiled template and renders to its text unchanged."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, *args: object, **kwargs: object) -> str:
        return self.text


def _element_init(self: Element, template: str | None = None, template_name: str | None = None) -> None:
    _branca_init(self, template_name=template_name)
    if template is not None:
        self._template = LiteralTemplate(template)


def install() -> None:
    """Idempotent; gridmap.maps runs it on import, before any map is built."""
    Element.__init__ = _element_init
