"""The production server's access line is gunicorn's own default (combined format), built directly."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from gridmap.serving import AccessLogger

ENVIRON = {"REMOTE_ADDR": "10.0.0.7", "REQUEST_METHOD": "POST", "RAW_URI": '/api/v1/checkins?x="1"',
           "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/api/v1/checkins", "QUERY_STRING": 'x="1"',
           "HTTP_USER_AGENT": 'Mozilla/5.0 "网格通"', "HTTP_AUTHORIZATION": "Bearer secret-token"}


def _line(logger_class: type[Logger], environ: dict, resp) -> str:
    config = Config()
    config.set("accesslog", "-")
    logger = logger_class(config)
    logger.now = lambda: "[05/Dec/2026:10:00:00 +0800]"
    lines: list[str] = []
    logger.access_log.info = lambda fmt, *args: lines.append(fmt % (args[0] if len(args) == 1 else args))
    req = SimpleNamespace(headers=[("USER-AGENT", environ.get("HTTP_USER_AGENT", ""))])
    logger.access(resp, req, environ, timedelta(milliseconds=3))
    return lines[0] if lines else ""


@pytest.mark.parametrize("environ", [ENVIRON, {k: v for k, v in ENVIRON.items() if k != "HTTP_USER_AGENT"},
                                     {**ENVIRON, "HTTP_REFERER": 'https://gridmap.example/"x'}])
@pytest.mark.parametrize("resp", [SimpleNamespace(status="201 CREATED", sent=412, headers=[]),
                                  SimpleNamespace(status=304, sent=None, headers=[])])
def test_the_access_line_is_gunicorns_default(environ, resp):
    ours = _line(AccessLogger, environ, resp)
    assert ours == _line(Logger, environ, resp)
    assert "secret-token" not in ours and '\\"1\\"' in ours


def test_no_access_log_configured_writes_nothing():
    config = Config()
    logger = AccessLogger(config)
    logger.access_log.info = lambda *a: pytest.fail("logged")
    logger.access(SimpleNamespace(status="200 OK", sent=2, headers=[]), SimpleNamespace(headers=[]), ENVIRON,
                  timedelta(0))
