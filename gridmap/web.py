"""Request plumbing shared by every blueprint: the DB session, errors, CSRF, JSON."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, jsonify, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from gridmap.config import GAODE_TILES, MiB
from gridmap.db import COMMITTED_WRITE, READ_REPLICA, WRITING, Database, lsn_value
from gridmap.errors import AppError, BadRequest, PayloadTooLarge, ServiceUnavailable, Unprocessable
from gridmap.escape import json_in_html

log = logging.getLogger(__name__)

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large", 429: "rate_limited"}


def database() -> Database:
    return current_app.extensions["gridmap.db"]


def get_session() -> Session:
    """This request's session. It reads from the primary until ``run_view`` lets a GET of a
    route that allows it read from the replica (gridmap.db.RoutedSession); writes always go
    to the primary."""
    if "db_session" not in g:
        g.db_session = database().session()
        g.read_from = "primary"
    return g.db_session


# Read-your-writes: the primary's WAL insert position after a request's committed write. A
# browser keeps it in the signed session cookie; a bearer-token client gets it in this header
# and sends it back on its reads (README: How it grows).
LSN_HEADER = "X-Gridmap-LSN"
_LSN = re.compile(r"[0-9A-F]{1,8}/[0-9A-F]{1,8}", re.IGNORECASE)
_READ_METHODS = ("GET", "HEAD")
_READ_ONLY_REFUSAL = "25006"  # read_only_sql_transaction: a write reached the standby
T = TypeVar("T")


def _caller_lsn() -> str | None:
    """The latest write this caller made that a read must see ("0/0": none known); None when
    the caller sent a malformed one (then it reads from the primary)."""
    known = [lsn for lsn in (session.get("lsn"), request.headers.get(LSN_HEADER)) if lsn]
    if not all(isinstance(lsn, str) and _LSN.fullmatch(lsn) for lsn in known):
        return None
    return max(known, key=lsn_value, default="0/0")


def _read_from_replica(allowed: bool) -> None:
    replica = database().replica
    if replica is None or not allowed or request.method not in _READ_METHODS:
        return
    db_session = get_session()
    lsn = _caller_lsn()
    if db_session.info.get(WRITING) or lsn is None or not replica.ready_for(lsn):
        return
    db_session.commit()  # the caller's authentication, read on the primary, ends here
    db_session.info[READ_REPLICA] = replica.engine
    g.read_from = "replica"


def run_view(replica_reads: bool, view: Callable[[], T]) -> T:
    """Run a declared route's view (gridmap.apidoc, gridmap.pages) after its caller was
    authenticated on the primary. A GET of a route declaring ``replica_reads`` reads from the
    replica when it is up, lags at most GRIDMAP_REPLICA_MAX_LAG_S and has replayed the caller's
    last write. Should the replica fail or refuse a write mid-way, the view runs again on the
    primary: nothing was written (the standby writes nothing; ORM writes go to the primary)."""
    _read_from_replica(replica_reads)
    try:
        return view()
    except DBAPIError as error:
        db_session = g.get("db_session")
        if db_session is None or db_session.info.get(READ_REPLICA) is None:
            raise
        if isinstance(error, OperationalError):
            database().replica.mark_down(error)
        elif getattr(error.orig, "pgcode", None) != _READ_ONLY_REFUSAL:
            raise
        else:
            log.warning("%s wrote while reading from the replica; run again on the primary", request.endpoint)
        db_session.rollback()
        db_session.info[READ_REPLICA] = None
        g.read_from = "primary"
        return view()


def _remember_write(response: Any) -> Any:
    """After a request whose write committed: the primary's WAL insert position, for the
    caller's next reads (header, and the session cookie unless it is a bearer-token call)."""
    db_session = g.get("db_session")
    if db_session is None or not db_session.info.pop(COMMITTED_WRITE, False):
        return response
    try:
        db_session.rollback()  # whatever the request left open ends here anyway (teardown)
        lsn = db_session.execute(text("SELECT CAST(pg_current_wal_insert_lsn() AS text)"),
                                 bind_arguments={"bind": database().engine}).scalar()
    except SQLAlchemyError:
        log.exception("could not read the primary's WAL position")
        return response
    response.headers[LSN_HEADER] = lsn
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        session["lsn"] = lsn
    return response


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()  # rolls back anything a failed request left open


def wants_json() -> bool:
    return (request.path.startswith(("/api/", "/ogc/", "/tiles/")) or request.path == "/ogc"
            or request.accept_mimetypes.best == "application/json")


def _render_error(error: AppError):
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else {}
    if wants_json():
        return jsonify(error.to_dict()), error.status, headers
    return render_template("error.html", error=error), error.status, headers


def limit_body(limit: int | Callable[[], int]) -> None:
    """This request's body limit (bytes, or a function giving them), set before the body is read:
    a larger body is a 413 stating it. Without this call a request has BODY_LIMIT."""
    request.max_content_length = limit() if callable(limit) else limit


def import_body_limit() -> int:
    """The file-import routes' limit: GRIDMAP_MAX_UPLOAD_MB."""
    return int(current_app.config["IMPORT_MAX_CONTENT_LENGTH"])


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "") or request.headers.get("X-CSRF-Token", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        raise BadRequest("csrf_failed")


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS (directly or through
    a trusted proxy's X-Forwarded-Proto), and always with GRIDMAP_SECURE_COOKIES=1; plain-HTTP
    intranets keep a cookie they can send back. HttpOnly and SameSite=Lax always (config)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app: Flask, request: Any) -> Any:
        # No cookie (an API call with a bearer token): an empty session, without building the
        # signing serializer first as Flask does for every request.
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def csp_nonce() -> str:
    """This response's script nonce (made on first use): the Content-Security-Policy runs an
    inline script only when it carries it, so text that slipped into a page never runs."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


_SCRIPT_TAG = re.compile(r"<script\b", re.IGNORECASE)


def nonce_scripts(rendered: str) -> str:
    """The response's nonce on every <script> tag of markup we generated ourselves (folium's
    rendered header); never on markup that carries user text."""
    return _SCRIPT_TAG.sub(f'<script nonce="{csp_nonce()}"', rendered)


HSTS = "max-age=31536000"


def install(app: Flask) -> None:
    proxies = app.config["GRIDMAP"].trusted_proxies
    if proxies > 0:
        # Only then are X-Forwarded-* believed: the scheme (Secure cookie, HSTS), the client
        # address (login throttling) and the host.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.session_interface = _SessionInterface()
    app.teardown_appcontext(_close_session)
    if app.extensions["gridmap.db"].replica is not None:
        app.after_request(_remember_write)
    # Liveness without the database, for load balancers and as the benchmarks' baseline.
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["json_in_html"] = lambda value: Markup(json_in_html(value))

    @app.before_request
    def _refuse_nul_in_url():
        # PostgreSQL text cannot hold NUL: one in a path parameter or the query string is the
        # sender's error (400) on every page and API route (JSON bodies: gridmap.apidoc).
        args = request.args.items(multi=True)
        if any("\x00" in text for pair in args for text in pair) or \
                any(isinstance(v, str) and "\x00" in v for v in (request.view_args or {}).values()):
            raise BadRequest("nul_character")

    @app.errorhandler(AppError)
    def _app_error(error: AppError):
        return _render_error(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        if status == 413:
            limit = request.max_content_length or 0  # this route's limit (limit_body), else BODY_LIMIT
            return _render_error(PayloadTooLarge(details={"limit_bytes": limit}, limit_mb=f"{round(limit / MiB, 1):g}"))
        app_error = AppError(_HTTP_CODES.get(status, "bad_request"), reason=error.description)
        app_error.status = status
        body, status, headers = _render_error(app_error)
        # The exception's own headers stay: Allow on a 405 (RFC 9110), Retry-After, WWW-Authenticate.
        headers.update((k, v) for k, v in error.get_headers() if k.lower() != "content-type")
        return body, status, headers

    @app.errorhandler(DataError)
    def _data_error(error: DBAPIError):
        # Last line of defence: a value the database refuses (bad encoding, out-of-range
        # number) is the sender's input, not our failure. Logged: it means a check is missing.
        log.warning("database refused a value: %s", error.orig)
        return _render_error(Unprocessable("unprocessable"))

    @app.errorhandler(OperationalError)
    def _db_down(error: DBAPIError):
        log.exception("database unavailable")
        return _render_error(ServiceUnavailable())

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        return _render_error(AppError())

    tiles = app.config["GRIDMAP"].tiles
    without_nonce = content_security_policy(tiles)  # every answer without an inline script (the API's)

    @app.after_request
    def _headers(response):
        nonce = g.get("csp_nonce")
        response.headers.setdefault("Content-Security-Policy",
                                    content_security_policy(tiles, nonce) if nonce else without_nonce)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":
            # Pages, answers and exports may hold names and phones: no copy on a shared computer's
            # disk or in a proxy. Routes that version their answers (tiles: ETag) say otherwise.
            response.headers.setdefault("Cache-Control", "private, no-store")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def content_security_policy(tiles: str | None, nonce: str | None = None) -> str:
    """Nothing outside the app, except the configured tile server's images.

    Scripts: our own files, and inline scripts only with this response's nonce (folium's map
    set-up, see ``nonce_scripts``); no 'unsafe-inline', so no inline event handler or
    ``javascript:`` URL runs. Styles keep 'unsafe-inline': folium and Leaflet write style=""
    attributes into their markup (legends, icons, popups), which a nonce cannot cover; a style
    cannot run script.
    """
    images = ["'self'", "data:", "blob:"]
    tile_origin = _tile_origin(tiles)
    if tile_origin:
        images.append(tile_origin)
    scripts = "script-src 'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join([
        "default-src 'self'",
        scripts,
        "style-src 'self' 'unsafe-inline'",
        f"img-src {' '.join(images)}",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _tile_origin(tiles: str | None) -> str | None:
    template = GAODE_TILES if tiles == "gaode" else tiles
    if not template or template == "none" or "://" not in template:
        return None
    scheme, rest = template.split("://", 1)
    host = rest.split("/", 1)[0]
    labels = host.split(".")
    if "{" in labels[0]:  # a subdomain template such as webrd0{s}: CSP allows *.rest only
        labels[0] = "*"
    return f"{scheme}://{'.'.join(labels)}"

