"""The Content-Security-Policy allows nothing outside the app but the configured tiles."""

from __future__ import annotations

from gridmap.web import content_security_policy


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_default_policy_allows_only_the_app():
    policy = _directives(content_security_policy("none"))
    for directive in ("default-src", "script-src", "style-src", "img-src", "connect-src", "font-src"):
        assert not any("://" in source or source == "*" for source in policy[directive]), directive
    assert policy["frame-ancestors"] == ["'none'"]


def test_configured_tiles_are_the_only_outside_images():
    gaode = _directives(content_security_policy("gaode"))
    assert "https://*.is.autonavi.com" in gaode["img-src"]
    intranet = _directives(content_security_policy("http://10.1.2.3:8080/tiles/{z}/{x}/{y}.png"))
    assert "http://10.1.2.3:8080" in intranet["img-src"]
    assert intranet["script-src"] == ["'self'"]


def test_inline_scripts_run_only_with_the_responses_nonce():
    plain = _directives(content_security_policy("none"))
    assert plain["script-src"] == ["'self'"]
    with_nonce = _directives(content_security_policy("none", "abc123"))
    assert with_nonce["script-src"] == ["'self'", "'nonce-abc123'"]
    assert "'unsafe-inline'" not in with_nonce["script-src"] and "'unsafe-eval'" not in with_nonce["script-src"]
    assert with_nonce["object-src"] == ["'none'"] and with_nonce["base-uri"] == ["'self'"]
