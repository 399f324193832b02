"""Declare API operations once: routing, input parsing, permission and OpenAPI.

Every JSON endpoint is registered through ``operation()``. The decorator parses
the query string and JSON body into pydantic models (400 with every field error
when they do not fit), authenticates and checks the role, refuses a ``<code>`` in
the path outside the caller's area when the declared scope rule says so (404), and
records the operation so ``/api/v1/openapi.json`` and README's access table are
generated from the code itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

import orjson
from flask import Blueprint, request
from pydantic import BaseModel, ValidationError
from werkzeug.routing import BaseConverter

from gridmap.auth.roles import GRID_ROLES
from gridmap.auth.scope import AREA_RULES, RULES
from gridmap.errors import BadRequest
from gridmap.labels import label, labels
from gridmap.messages import message
from gridmap.schemas import CODE_PATTERN

API_PREFIX = "/api/v1"


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    roles: tuple[str, ...]
    scope: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    form: dict[str, Any] = field(default_factory=dict)
    response: type[BaseModel] | None = None
    response_status: int = 200
    errors: tuple[int, ...] = ()
    content_types: tuple[str, ...] = ("application/json",)
    max_body: int | Callable[[], int] | None = None  # None: config.BODY_LIMIT
    # Other success statuses and what each means (e.g. 200 for a batch, 207 for a partial one).
    also: dict[int, str] = field(default_factory=dict)
    # Error codes whose refusal depends on stored data, not on the request's form (a category
    # missing from the catalogue, a code of the wrong level): no schema can state them.
    data_errors: tuple[str, ...] = ()
    # OpenAPI links from the success response to other operations (stateful testing, clients).
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Where its blueprint is mounted: API_PREFIX, "/ogc", or "" (the site's root: the vector tiles).
    mount: str = API_PREFIX
    # A GET that may read from the read replica (gridmap.web.run_view); writes never do.
    replica_reads: bool = False


OPERATIONS: list[Operation] = []


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_url=False)
    ]


def parse_model(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest("validation_failed", details={"errors": _field_errors(exc)}) from None


def _refuse_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL characters: refuse them up front (400), anywhere."""
    if isinstance(value, str):
        if "\x00" in value:
            raise BadRequest("nul_character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key)
            _refuse_nul(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_nul(item)
    return value


def query_data() -> dict[str, Any]:
    """The query string as a dict: a repeated key gives a list (pages parse it the same way)."""
    data: dict[str, Any] = {}
    for key in request.args:  # holds no NUL (gridmap.web refuses it first)
        values = request.args.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    return data


def _refuse_unknown_parameters(query: type[BaseModel] | None) -> None:
    """A query parameter the operation does not declare is a 400 naming it, not silently ignored:
    a misspelt ``within`` must not widen a list to the caller's whole area."""
    known = set() if query is None else {f.alias or name for name, f in query.model_fields.items()} | set(
        query.model_fields)
    unknown = sorted(set(request.args) - known)
    if unknown:
        raise BadRequest("unknown_parameter", details={"parameters": unknown[:20]}, names="、".join(unknown[:5]))


# 19 digits in a row: maybe an integer past 64 bits, which orjson reads as a float. Found as a
# run of zeros once every digit is a zero and every other byte a space: a regular expression
# took 0.9 ms over a batch of 500 check-ins (six times orjson's parse), this 0.06 ms.
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGITS = b"0" * 19


def _json_body() -> Any:
    """The request's JSON. orjson reads UTF-8 JSON about three times as fast as ``json``; what it
    refuses (another encoding, which ``json`` detects, NaN, 1e400, a lone surrogate) or may read
    otherwise (an integer past 64 bits, a float to orjson) is read by ``json`` as before, so the
    app sees the same values either way."""
    data = request.get_data(cache=True)
    if not data:
        raise BadRequest("invalid_json")
    if _LONG_DIGITS not in data.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    try:
        return request.get_json(force=True)
    except Exception:  # noqa: BLE001 - werkzeug's BadRequest subclasses, json's RecursionError: all bad JSON
        raise BadRequest("invalid_json") from None


def operation(
    bp: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    tag: str,
    scope: str,
    roles: Iterable[str] = GRID_ROLES,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    form: dict[str, Any] | None = None,
    response: type[BaseModel] | None = None,
    response_status: int = 200,
    errors: Iterable[int] = (),
    content_types: Iterable[str] = ("application/json",),
    max_body: int | Callable[[], int] | None = None,
    also: dict[int, str] | None = None,
    data_errors: Iterable[str] = (),
    links: dict[str, dict[str, Any]] | None = None,
    prefix: str = API_PREFIX,
    replica_reads: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``rule`` on ``bp`` (mounted at ``prefix``: /api/v1, or /ogc for OGC API – Features)
    and describe it in that prefix's OpenAPI document.

    ``scope`` is one of gridmap.auth.scope.RULES: which rows the operation reaches.
    ``max_body`` (bytes, or a function giving them at request time) raises the request
    body limit for this operation only; without it a body over ``config.BODY_LIMIT`` is a 413.
    ``prefix`` is where ``bp`` is mounted (gridmap.api): /api/v1, or "" for a route at the root
    such as the vector tiles. ``replica_reads=False`` keeps a GET on the primary; by default a
    GET reads from the read replica when there is one (its caller authenticated on the primary,
    its writes sent to the primary, its caller's own writes seen: gridmap.web.run_view).
    """
    allowed = tuple(roles)
    if scope not in RULES:
        raise ValueError(f"unknown scope rule {scope!r} for {method} {rule}")
    if allowed == ("*",) and scope in AREA_RULES:
        raise ValueError(f"{method} {rule}: a public operation has no caller's area to check")
    # A <code> in the path names an area (a community under /communities, else a grid).
    code_not_found = ("area_not_found" if rule.startswith("/communities/") else "grid_not_found") \
        if scope in AREA_RULES and "<code>" in rule else None
    op = Operation(
        method=method.upper(), path=prefix + rule, summary=summary, tag=tag, roles=allowed, scope=scope,
        query=query, body=body, form=form or {}, response=response, response_status=response_status,
        errors=tuple(errors), content_types=tuple(content_types), max_body=max_body, also=also or {},
        data_errors=tuple(data_errors), links=links or {}, mount=prefix,
        replica_reads=replica_reads and method.upper() == "GET",
    )
    OPERATIONS.append(op)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def view(**kwargs: Any) -> Any:
            from gridmap.auth.current import require_user
            from gridmap.web import limit_body, run_view

            if max_body is not None:
                limit_body(max_body)  # before anything (the session's CSRF check included) reads it
            if allowed != ("*",):
                kwargs["scope"] = require_user(allowed)
            if code_not_found is not None:
                kwargs["scope"].require(kwargs["code"], code_not_found)
            _refuse_unknown_parameters(query)
            if query is not None:
                kwargs["query"] = parse_model(query, query_data())
            if form and any("\x00" in value for value in request.form.values()):
                raise BadRequest("nul_character")  # a form's fields reach PostgreSQL text, which holds no NUL
            if body is not None:
                # NUL is refused in what the operation keeps, not in members it ignores.
                kwargs["body"] = parse_model(body, _json_body())
                if b"\x00" in request.data or b"\\u0000" in request.data:  # (UTF-16/32 hold zero bytes)
                    _refuse_nul(kwargs["body"].model_dump())
            return run_view(op.replica_reads, lambda: fn(**kwargs))

        # An area code is digits: /grids/merge is never /grids/<code>, and its Allow lists POST only.
        bp.add_url_rule(rule.replace("<code>", "<code:code>"), endpoint=fn.__name__, view_func=view,
                        methods=[op.method])
        return view

    return decorate


PUBLIC = ("*",)


class AreaCodeConverter(BaseConverter):
    """``<code>`` in an operation's path: an area code's digits (gridmap.schemas.CODE_PATTERN)."""

    regex = CODE_PATTERN.strip("^$")


def may_call(method: str, path: str, role: str) -> bool:
    """Whether ``role`` may call the operation ``method path`` (``path`` under /api/v1, as declared):
    a page asks before it shows what that operation serves, so it shows no more than the API."""
    for op in OPERATIONS:
        if op.method == method and op.path == API_PREFIX + path:
            return op.roles == PUBLIC or role in op.roles
    raise LookupError(f"no operation {method} {path}")


def openapi_path(path: str) -> tuple[str, list[tuple[str, str]]]:
    """The path in OpenAPI form and its parameters as (name, converter)."""
    params = re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", path)
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", path), [(name, conv) for conv, name in params]


# PostgreSQL text cannot hold NUL, so no text the API takes may (400 nul_character): stated on
# every free string of the document, in one place.
NO_NUL = "^[^\u0000]*$"


def _no_nul(schema: Any) -> Any:
    if isinstance(schema, dict):
        if schema.get("type") == "string" and not {"pattern", "enum", "format", "const"} & schema.keys():
            schema["pattern"] = NO_NUL
        for value in schema.values():
            _no_nul(value)
    elif isinstance(schema, list):
        for value in schema:
            _no_nul(value)
    return schema


def _path_schema(name: str, converter: str) -> dict[str, Any]:
    if converter == "int":
        return {"type": "integer", "minimum": 0}
    if name == "code":
        return {"type": "string", "pattern": CODE_PATTERN}
    return {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NO_NUL}


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a value, never JSON null: drop pydantic's null branch."""
    branches = prop.get("anyOf")
    if branches and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        extra = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
        return {**(rest[0] if len(rest) == 1 else {"anyOf": rest}), **extra}
    return prop


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _not_null(prop)
        explode = prop.pop("x-explode", True)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop,
                     "description": prop.get("description", "")}
        if not explode:  # a list as one comma-separated value (bbox=1,2,3,4)
            parameter.update(style="form", explode=False)
        parameters.append(parameter)
    return parameters


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}


def _error_statuses(op: Operation, has_path_params: bool) -> list[int]:
    statuses = set(op.errors) - set(op.also) | {400}
    if op.roles != PUBLIC:
        statuses |= {401, 403}
    if has_path_params:
        statuses.add(404)
    if op.body is not None or op.form:
        statuses.add(413)  # MAX_CONTENT_LENGTH
    return sorted(statuses)


def _form_schema(form: dict[str, str]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required = [name for name, kind in form.items() if kind == "file"]
    for name, kind in form.items():
        if kind == "file":
            properties[name] = {"type": "string", "format": "binary"}
        elif isinstance(kind, dict):
            properties[name] = {k: v for k, v in kind.items() if k != "x-required"}
            if kind.get("x-required"):
                required.append(name)
        else:
            properties[name] = {"type": "string", "maxLength": 200, "pattern": NO_NUL}
    return {"type": "object", "required": required, "properties": properties}


def build_openapi(prefix: str = API_PREFIX, title: str = "gridmap API") -> dict[str, Any]:
    """The OpenAPI document of the operations mounted at ``prefix``; the API's own document
    (/api/v1/openapi.json) also lists those served at the site's root (the vector tiles)."""
    mounts = (API_PREFIX, "") if prefix == API_PREFIX else (prefix,)
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = _no_nul(sub)
        schemas[model.__name__] = _no_nul(schema)
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def success(op: Operation, description: str, status: int) -> dict[str, Any]:
        body = {"description": description,
                "content": {ct: {"schema": ref(op.response) if op.response and ct == "application/json" else {}}
                            for ct in op.content_types}}
        if status in (204, 304):  # no body
            body.pop("content")
        return body

    for op in OPERATIONS:
        if op.mount not in mounts:
            continue
        path, names = openapi_path(op.path)
        parameters = [{"name": n, "in": "path", "required": True, "schema": _path_schema(n, conv)}
                      for n, conv in names]
        if op.query is not None:
            parameters += [{**p, "schema": _no_nul(p["schema"])} for p in _query_parameters(op.query)]
        responses: dict[str, Any] = {str(op.response_status): success(op, label("success", "http_status"), op.response_status)}
        if op.links:
            responses[str(op.response_status)]["links"] = op.links
        for status, description in op.also.items():
            responses[str(status)] = success(op, description, status)
        for status in _error_statuses(op, bool(names)):
            responses[str(status)] = {
                "description": labels("http_status").get(str(status), label("error", "http_status")),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        entry: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
            "parameters": parameters,
            "responses": responses,
            "x-roles": list(op.roles),
            "x-scope": op.scope,
        }
        if op.data_errors:
            entry["x-data-dependent-errors"] = list(op.data_errors)
        if op.roles != PUBLIC:
            entry["security"] = [{"bearer": []}]
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
        elif op.form:
            entry["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": _form_schema(op.form)}}}
        paths.setdefault(path, {})[op.method.lower()] = entry

    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0",
                 "description": message("openapi_description")},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


__all__ = [
    "OPERATIONS",
    "PUBLIC",
    "AreaCodeConverter",
    "build_openapi",
    "may_call",
    "operation",
    "parse_model",
    "query_data",
]
