"""Helpers for tests/security/test_sessions.py: log in through /login, copy a session cookie
into a second browser, change a password through the page, ask the API from an address."""

from __future__ import annotations

import re

from gridmap.auth.service import create_user

PASSWORD = "pass-word-1"
NEW_PASSWORD = "another-pass-2"


def csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client, username: str, password: str = PASSWORD, next_path: str | None = None, address: str = "127.0.0.1"):
    token = csrf(client)
    return client.post("/login", query_string={"next": next_path} if next_path is not None else None,
                       data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def logged_in(app, db_session, username: str, role: str = "admin", scope: str = ""):
    """A new user and a browser (test client) logged in as them."""
    create_user(db_session, username, PASSWORD, role, scope)
    browser = app.test_client()
    response = login(browser, username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def copy_of(app, browser):
    """A second browser holding the same session cookie, as a thief who copied it would."""
    cookie = browser.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def signed_in(browser) -> bool:
    """Whether the browser's cookie still carries a login (the API answers it, not 401)."""
    status = browser.get("/api/v1/areas").status_code
    assert status in (200, 401), status
    return status == 200


def token_login(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_works(client, token: str) -> bool:
    status = client.get("/api/v1/areas", headers=bearer(token)).status_code
    assert status in (200, 401), status
    return status == 200
