"""The production server: gunicorn (gthread workers) running the app, as ``flask serve`` starts it.

Its access log keeps gunicorn's default line (Apache's combined format) but writes it directly:
gunicorn builds a dict of every request header, response header and environ variable for each
line, whatever the format uses, which took about 8% of a single check-in's server CPU
(scripts/bench/checkins).
"""

from __future__ import annotations

import gc
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger


def _quoted(value: str) -> str:
    return value.replace('"', '\\"')  # as gunicorn's SafeAtoms: a quote cannot end a field early


class AccessLogger(Logger):
    """gunicorn's logger, its access line built from the few values the combined format shows."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.cfg.accesslog:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        sent = getattr(resp, "sent", None)
        request_line = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
        self.access_log.info('%s - - %s "%s" %s %s "%s" "%s"', environ.get("REMOTE_ADDR", "-"), self.now(),
                             _quoted(request_line), status, "-" if sent is None else sent,
                             _quoted(environ.get("HTTP_REFERER", "-")), _quoted(environ.get("HTTP_USER_AGENT", "-")))


def serve(app: Flask, host: str, port: int, workers: int, threads: int) -> None:
    """Run ``app`` under gunicorn until it is stopped."""

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
            self.cfg.set("logger_class", AccessLogger)
            self.cfg.set("timeout", 120)

        def load(self) -> Flask:
            return app

    # The workers are forked from this process with the app loaded: its objects move to
    # the collector's permanent generation, so a worker's full collections no longer walk
    # them (about 10 µs of server CPU per synced check-in, scripts/bench/checkins) and forked pages stay shared.
    gc.freeze()
    Server().run()
