"""Declare HTML pages the way API operations are declared (gridmap.apidoc).

Every page route is registered through ``page()``. Before the view runs, the decorator
sends a visitor who is not logged in to /login?next=…, refuses a role the page does not
declare (403 page), refuses a ``<code>`` in the path outside the caller's area when the
declared scope rule says so (404 page, as the API does), and parses the query string into
the declared pydantic model (400 page with every field error). It records the page, so
README's access table lists pages beside operations and tests call every page as every
role it does not declare. ``max_body`` (bytes, or a function of the app's settings) bounds
the request body before anything reads it (413 beyond; the app's small default otherwise).
The view receives ``user`` and ``scope`` (and ``query``). With a read replica, a GET reads
from it unless declared ``replica_reads=False`` (gridmap.web.run_view).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

import folium
from flask import Blueprint, redirect, request, url_for
from pydantic import BaseModel

from gridmap.apidoc import PUBLIC, parse_model, query_data
from gridmap.auth.roles import GRID_ROLES
from gridmap.auth.scope import AREA_RULES, RULES
from gridmap.errors import Forbidden
from gridmap.maps.assets import assert_offline
from gridmap.web import limit_body, nonce_scripts, run_view


@dataclass(frozen=True)
class Page:
    methods: tuple[str, ...]
    path: str
    summary: str
    roles: tuple[str, ...]
    scope: str
    query: type[BaseModel] | None = None
    replica_reads: bool = True


PAGES: list[Page] = []


def page(
    bp: Blueprint,
    rule: str,
    *,
    summary: str,
    scope: str,
    roles: Iterable[str] = GRID_ROLES,
    methods: Iterable[str] = ("GET",),
    query: type[BaseModel] | None = None,
    code_not_found: str = "grid_not_found",
    whole_area: str | None = None,
    max_body: int | Callable[[], int] | None = None,
    replica_reads: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the page ``rule`` on ``bp``. ``scope`` is one of gridmap.auth.scope.RULES; under
    an area rule a ``<code>`` in the path is checked (404 ``code_not_found`` outside the caller's
    area), except the ``whole_area`` word, which names the caller's own area (e.g. ``all``).
    ``replica_reads=False`` keeps its GET on the primary (default: gridmap.web.run_view decides)."""
    allowed = tuple(roles)
    verbs = tuple(m.upper() for m in methods)
    if scope not in RULES:
        raise ValueError(f"unknown scope rule {scope!r} for page {rule}")
    if allowed == PUBLIC and (scope in AREA_RULES or query is not None):
        raise ValueError(f"page {rule}: a public page has no caller's area to check")
    check_code = scope in AREA_RULES and "<code>" in rule
    PAGES.append(Page(methods=verbs, path=rule, summary=summary, roles=allowed, scope=scope, query=query,
                      replica_reads=replica_reads))

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def view(**kwargs: Any) -> Any:
            if max_body is not None:
                limit_body(max_body)
            if allowed != PUBLIC:
                from gridmap.auth.current import current_user
                from gridmap.auth.service import scope_of

                user = current_user()
                if user is None:
                    return redirect(url_for("accounts_pages.login", next=request.full_path.rstrip("?")))
                if user.role not in allowed:
                    raise Forbidden("forbidden")
                kwargs["user"], kwargs["scope"] = user, scope_of(user)
                if check_code and kwargs["code"] != whole_area:
                    kwargs["scope"].require(kwargs["code"], code_not_found)
            if query is not None:
                kwargs["query"] = parse_model(query, query_data())
            return run_view(replica_reads, lambda: fn(**kwargs))

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=list(verbs))
        return view

    return decorate


def may_open(path: str, role: str) -> bool:
    """Whether ``role`` may open the page declared at ``path`` (GET): a page asks before it links
    to another, so it links only what opens for the viewer."""
    for p in PAGES:
        if p.path == path and "GET" in p.methods:
            return p.roles == PUBLIC or role in p.roles
    raise LookupError(f"no page GET {path}")


def empty_state(text: str, *, action: str | None = None, link: str | None = None) -> dict[str, str | None]:
    """What a map page shows over a map with nothing on it (template map_empty.html): the sentence
    saying what would appear there and how, and the link to the page that would fill it, if any."""
    return {"text": text, "action": action if link else None, "link": link}


def map_parts(fmap: folium.Map) -> dict[str, str]:
    """A folium map split into what our page template embeds: the header with this response's
    nonce on its scripts, the body (no scripts), and the set-up script for the template's own
    nonce'd <script> element."""
    root = fmap.get_root()
    root.render()
    parts = {"map_header": nonce_scripts(root.header.render()), "map_body": root.html.render(),
             "map_script": root.script.render()}
    assert_offline("".join(parts.values()))
    return parts


__all__ = ["PAGES", "Page", "empty_state", "map_parts", "may_open", "page"]
