"""The session cookie: Secure whenever the request came over HTTPS (directly, or through a
proxy the operator trusts with GRIDMAP_TRUSTED_PROXIES), always Secure with
GRIDMAP_SECURE_COOKIES=1, always HttpOnly and SameSite=Lax; HTTPS responses carry HSTS."""

from __future__ import annotations

import dataclasses

import pytest

from gridmap import create_app


def _app(app, **settings):
    return create_app(dataclasses.replace(app.config["GRIDMAP"], **settings))


def _login_page(application, **kwargs):
    """GET /login sets the session cookie (it holds the form's CSRF token)."""
    response = application.test_client().get("/login", **kwargs)
    assert response.status_code == 200
    cookie = response.headers.get("Set-Cookie", "")
    assert cookie.startswith("session="), cookie
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes and "samesite=lax" in cookie.lower()
    return "secure" in attributes, response.headers.get("Strict-Transport-Security")


@pytest.mark.parametrize("settings, request_kwargs, secure", [
    ({}, {}, False),  # plain-HTTP intranet: a cookie the browser will send back
    ({}, {"base_url": "https://gridmap.example"}, True),
    ({}, {"headers": {"X-Forwarded-Proto": "https"}}, False),  # nobody trusted said so
    ({"trusted_proxies": 1}, {"headers": {"X-Forwarded-Proto": "https"}}, True),
    ({"trusted_proxies": 1}, {"headers": {"X-Forwarded-Proto": "http"}}, False),
    ({"secure_cookies": True}, {}, True),
], ids=["http", "https", "untrusted-forwarded-https", "trusted-proxy-https", "trusted-proxy-http",
        "forced-secure-over-http"])
def test_session_cookie_is_secure_over_https(app, settings, request_kwargs, secure):
    cookie_secure, hsts = _login_page(_app(app, **settings), **request_kwargs)
    assert cookie_secure is secure
    over_https = request_kwargs.get("base_url", "").startswith("https") or (
        settings.get("trusted_proxies") and request_kwargs["headers"]["X-Forwarded-Proto"] == "https")
    assert (hsts is not None) is bool(over_https)
    if over_https:
        assert hsts.startswith("max-age=") and int(hsts.split("=")[1]) >= 180 * 86400


def _client_address(application) -> str:
    seen = {}

    @application.get("/_address")
    def _address():
        from flask import request

        seen["address"] = request.remote_addr
        return ""

    application.test_client().get("/_address", headers={"X-Forwarded-For": "10.9.8.7"},
                                  environ_base={"REMOTE_ADDR": "127.0.0.1"})
    return seen["address"]


def test_only_a_trusted_proxy_sets_the_client_address_that_login_throttling_counts(app):
    assert _client_address(_app(app, trusted_proxies=1)) == "10.9.8.7"
    assert _client_address(_app(app)) == "127.0.0.1"


def test_building_another_app_registers_no_operation_twice(app):
    # Operations are described when their modules are imported; were they registered per app,
    # these tests' extra apps would double the OpenAPI document and the access table.
    from gridmap.apidoc import OPERATIONS

    count = len(OPERATIONS)
    _app(app, trusted_proxies=1)
    assert len(OPERATIONS) == count
