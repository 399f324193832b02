"""A live server on 127.0.0.1 and Debian's chromium driven by Playwright.

The server shares one database connection whose transaction is rolled back when the
module ends; it serves one request at a time, so that connection is never shared
between threads. Every request that leaves 127.0.0.1 is aborted and counted.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

from tests.conftest import rolled_back_session

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Whether the test itself failed, for the page fixture's teardown (a screenshot of each page)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[FAILED] = report.failed


@pytest.fixture(scope="module")
def live_db(app):
    with rolled_back_session(app) as session:
        yield session


@pytest.fixture(scope="module")
def live_server(app, live_db):
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium):
    """The session's chromium (tests/conftest.py), launched once, not once per module."""
    return chromium


class Offline:
    """A page whose requests outside the app are blocked and counted."""

    def __init__(self, browser, base_url: str, **context_options):
        self.base = urlparse(base_url)
        self.context = browser.new_context(**{"locale": "zh-CN", **context_options})
        self.blocked: list[str] = []
        self.no_signal = False
        self.failed: list[str] = []
        self.console_errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))

    def _route(self, route):
        url = urlparse(route.request.url)
        if url.scheme in ("data", "blob"):
            route.continue_()
        elif (url.hostname, url.port) == (self.base.hostname, self.base.port):
            route.abort("internetdisconnected") if self.no_signal else route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def set_offline(self, offline: bool) -> None:
        """The phone loses (or regains) its signal. Chromium's offline emulation alone has let a
        request through now and then (one from the service worker's side, it seems), so the app's
        requests are refused here too while offline."""
        self.no_signal = offline
        self.context.set_offline(offline)

    def log_in(self, username: str, path: str, password: str = "pass-word-1") -> None:
        """Log in through the form and land on ``path``."""
        base = f"{self.base.scheme}://{self.base.netloc}"
        self.page.goto(f"{base}/login?next={path}")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"**{path}")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def offline(request, browser, live_server):
    """Pages to open; when the test fails, each one's screenshot as it was goes to
    test-artifacts/failed-<test>-<n>.png (a flaky step in CI can be looked at afterwards)."""
    opened: list[Offline] = []

    def open_page(**context_options) -> Offline:
        page = Offline(browser, live_server, **context_options)
        opened.append(page)
        return page

    yield open_page
    failed = request.node.stash.get(FAILED, False)
    for n, page in enumerate(opened):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                page.page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}-{n}.png"), full_page=True)
            except Exception as error:  # a page already gone says so, and the teardown goes on
                print(f"no screenshot of page {n}: {error}")
        page.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
