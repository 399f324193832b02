"""A login and a password change at the same moment (two servers make it likely): the login's
token never outlives the change. Either the change came first and the login, checked against
the old password, is refused (401), or the change waits for the login's token and revokes it
(gridmap.auth.service.issue_token and end_sessions lock the user's row).

These tests commit real data on connections of their own, and delete it after."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import text

from gridmap.accounts.service import set_password
from gridmap.auth import service
from gridmap.auth.service import authenticate, create_user, issue_token, scope_for_token
from gridmap.errors import Unauthorized

USERNAME = "racing-login"
OLD, NEW = "old-pass-word-1", "new-pass-word-2"


@pytest.fixture
def database(app):
    database = app.extensions["gridmap.db"]
    with database.session() as session:
        create_user(session, USERNAME, OLD, "admin")
    yield database
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM login_failure WHERE username = :u"), {"u": USERNAME})
        connection.execute(text("DELETE FROM login_address WHERE username = :u"), {"u": USERNAME})
        connection.execute(text("DELETE FROM app_user WHERE username = :u"), {"u": USERNAME})  # tokens cascade


def test_a_login_checked_before_a_password_change_gets_no_token_after_it(database):
    with database.session() as login, database.session() as change:
        user = authenticate(login, USERNAME, OLD, "10.0.0.1")
        set_password(change, USERNAME, NEW)
        with pytest.raises(Unauthorized):
            issue_token(login, user, 1)


def test_a_password_change_waits_for_a_token_being_issued_and_revokes_it(database, monkeypatch):
    """The login holds the user's row from its check until its token is committed; the change,
    sent meanwhile, waits and then revokes that token with the others."""
    inside, release = threading.Event(), threading.Event()
    real_token = service.secrets.token_urlsafe

    def slow_token(size: int) -> str:  # called while issue_token holds the user's row
        inside.set()
        release.wait(30)
        return real_token(size)

    monkeypatch.setattr(service.secrets, "token_urlsafe", slow_token)
    issued: list[str] = []
    with database.session() as login, database.session() as change:
        user = authenticate(login, USERNAME, OLD, "10.0.0.1")
        login_thread = threading.Thread(target=lambda: issued.append(issue_token(login, user, 1)[0]))
        login_thread.start()
        assert inside.wait(30)
        change_thread = threading.Thread(target=set_password, args=(change, USERNAME, NEW))
        change_thread.start()
        change_thread.join(1.0)
        assert change_thread.is_alive()  # waiting for the login's token
        release.set()
        login_thread.join(30)
        change_thread.join(30)
        assert not change_thread.is_alive() and len(issued) == 1
    with database.session() as later, pytest.raises(Unauthorized):
        scope_for_token(later, issued[0])


def test_the_login_page_answers_a_login_overtaken_by_a_password_change_with_its_form(app, database, monkeypatch):
    """The page shows the login form with the wrong-password message (401), as for any refused login."""
    real_issue = service.issue_token

    def change_first(session, user, ttl_hours):
        with database.session() as change:
            set_password(change, USERNAME, NEW)
        return real_issue(session, user, ttl_hours)

    monkeypatch.setattr("gridmap.auth.current.issue_token", change_first)
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = browser.post("/login", data={"username": USERNAME, "password": OLD, "csrf_token": csrf})
    assert answer.status_code == 401 and 'name="password"' in answer.get_data(as_text=True)
