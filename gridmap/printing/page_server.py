"""The only thing a rendering Chromium can reach: a one-shot origin on 127.0.0.1 that is
also Chromium's proxy for every request.

It serves the page under a random path and the public files under static/, and refuses
everything else: Chromium is started with this server as its proxy for every URL,
loopback included, so a request for another host, another port, another path or a
``CONNECT`` tunnel ends here as a 403 and never leaves the process. The page is an
``http://`` page, so Chromium also refuses it every ``file://`` URL (an ``iframe`` of a
local file, a ``fetch``) that a ``file://`` page would be allowed.
"""

from __future__ import annotations

import mimetypes
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

STATIC_DIR = (Path(__file__).resolve().parents[2] / "static").resolve()
STATIC_PREFIX = "/static/"  # the pages' static URL (gridmap.maps.assets.DEFAULT_STATIC_URL)


class PageServer:
    """``with PageServer(html) as server:`` Chromium opens ``server.url`` with ``server.proxy``."""

    def __init__(self, page_html: str):
        self.page = page_html.encode("utf-8")
        self.page_path = f"/{secrets.token_urlsafe(24)}/page.html"
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.origin = f"127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="gridmap-page-server",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.origin}{self.page_path}"

    @property
    def proxy(self) -> str:
        return f"http://{self.origin}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def answer(self, method: str, target: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a request line as the proxy receives it."""
        parts = urlsplit(target)
        if method != "GET" or parts.scheme != "http" or parts.netloc != self.origin or parts.query:
            return 403, "text/plain", b""
        if parts.path == self.page_path:
            return 200, "text/html; charset=utf-8", self.page
        if parts.path.startswith(STATIC_PREFIX):
            file = static_file(unquote(parts.path[len(STATIC_PREFIX):]))
            if file is not None:
                kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                return 200, kind, file.read_bytes()
        return 404, "text/plain", b""


def static_file(relative: str) -> Path | None:
    """A regular file under static/ (no traversal, no symlink out of it), else None."""
    try:
        path = (STATIC_DIR / relative).resolve()
    except (OSError, ValueError):
        return None
    return path if path.is_relative_to(STATIC_DIR) and path.is_file() else None


def _handler(server: PageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self) -> None:
            status, kind, body = server.answer(self.command, self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if status != 200:  # a refused request's body (if any) is never read: end the connection
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_CONNECT = _reply

        def log_message(self, format: str, *args) -> None:  # "format": the base class's name
            pass

    return Handler
