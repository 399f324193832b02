"""Sessions and accounts (issue 14, item 4), attacked as a thief, a guesser and a sprayer would:

* logout, a password change (page, API, CLI) and deactivation end the user's cookies and
  tokens at once: a copied cookie and an issued token stop working;
* no open redirect after login, whatever the ``next`` payload;
* ``?user=`` answers alike for an unknown username and one outside the caller's scope, and
  login answers alike for an unknown user and a wrong password;
* login throttling stops guessing one account and spraying many, without locking out the
  users who share the sprayer's address.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from gridmap.auth import service
from gridmap.auth.models import User
from gridmap.auth.service import create_user
from tests import factories as f
from tests.security.sessions_support import (
    NEW_PASSWORD, PASSWORD, bearer, copy_of, csrf, logged_in, login, signed_in, token_login, token_works,
)

# --- a copied cookie stops working --------------------------------------------------------------


def test_a_copied_cookie_stops_working_after_logout(app, db_session):
    browser = logged_in(app, db_session, "leaver")
    thief = copy_of(app, browser)
    assert signed_in(thief)
    assert browser.post("/logout", data={"csrf_token": csrf(browser)}).status_code == 302
    assert not signed_in(browser)
    assert not signed_in(thief)
    assert thief.get("/").status_code == 302  # pages send it to /login
    assert thief.post("/api/v1/assign", headers={"X-CSRF-Token": "x"}).status_code == 401


def test_logout_in_one_browser_leaves_the_users_other_browsers_signed_in(app, db_session):
    desk = logged_in(app, db_session, "two-devices", "grid_worker", f.GRID_A)
    phone = app.test_client()
    assert login(phone, "two-devices").status_code == 302
    desk.post("/logout", data={"csrf_token": csrf(desk)})
    assert not signed_in(desk) and signed_in(phone)


def _change_password_page(browser, old: str, new: str, confirm: str | None = None):
    page = browser.get("/account/password")
    assert page.status_code == 200, page.status_code
    return browser.post("/account/password", data={
        "old_password": old, "new_password": new, "confirm_password": new if confirm is None else confirm,
        "csrf_token": csrf(browser)})


def test_a_password_change_on_the_page_ends_copied_cookies_and_tokens(app, db_session):
    browser = logged_in(app, db_session, "changer", "supervisor", f.STREET)
    thief = copy_of(app, browser)
    token = token_login(app.test_client(), "changer", PASSWORD).get_json()["token"]
    other_user = f.token_for(db_session, "admin", username="bystander")

    wrong = _change_password_page(browser, "not-my-password", NEW_PASSWORD)
    assert wrong.status_code == 403 and "原密码不正确" in wrong.get_data(as_text=True)
    mismatch = _change_password_page(browser, PASSWORD, NEW_PASSWORD, confirm="something-else")
    assert mismatch.status_code == 422
    assert signed_in(thief) and token_works(browser, token)  # nothing changed yet

    done = _change_password_page(browser, PASSWORD, NEW_PASSWORD)
    assert done.status_code == 200 and "密码已修改" in done.get_data(as_text=True)
    assert not signed_in(thief)
    assert not token_works(browser, token)
    assert signed_in(browser)  # the browser that changed it goes on with a new session
    assert token_works(browser, other_user)  # other users keep theirs
    assert token_login(app.test_client(), "changer", PASSWORD).status_code == 401
    assert token_login(app.test_client(), "changer", NEW_PASSWORD).status_code == 200


def test_the_password_page_needs_a_login_and_the_csrf_token(app, client, db_session):
    assert "/login" in client.get("/account/password").headers["Location"]
    browser = logged_in(app, db_session, "no-csrf")
    response = browser.post("/account/password", data={"old_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                       "confirm_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert token_login(app.test_client(), "no-csrf", PASSWORD).status_code == 200


def test_a_password_change_through_the_api_ends_cookies_and_tokens(app, client, db_session):
    browser = logged_in(app, db_session, "phone-user", "grid_worker", f.GRID_A)
    first = token_login(client, "phone-user", PASSWORD).get_json()["token"]
    second = token_login(client, "phone-user", PASSWORD).get_json()["token"]

    wrong = client.post("/api/v1/auth/password", headers=bearer(first),
                        json={"old_password": "guess", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "wrong_password"
    short = client.post("/api/v1/auth/password", headers=bearer(first),
                        json={"old_password": PASSWORD, "new_password": "short"})
    assert short.status_code == 400
    assert token_works(client, first) and signed_in(browser)

    changed = client.post("/api/v1/auth/password", headers=bearer(first),
                          json={"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.get_json()
    fresh = changed.get_json()["token"]
    assert not token_works(client, first) and not token_works(client, second)
    assert not signed_in(browser)
    assert token_works(client, fresh)
    assert client.post("/api/v1/auth/password", json={"old_password": NEW_PASSWORD,
                                                      "new_password": PASSWORD}).status_code == 401


def test_guessing_the_old_password_through_the_api_is_throttled(client, db_session):
    create_user(db_session, "stolen-token", PASSWORD, "admin")
    token = token_login(client, "stolen-token", PASSWORD).get_json()["token"]
    statuses = [client.post("/api/v1/auth/password", headers=bearer(token),
                            json={"old_password": f"guess-{i}", "new_password": NEW_PASSWORD}).status_code
                for i in range(6)]
    assert statuses == [403] * 5 + [429]


# --- deactivation and the command line --------------------------------------------------------------


def test_deactivate_user_on_the_command_line_ends_cookies_and_tokens(app, db_session):
    browser = logged_in(app, db_session, "retired", "grid_worker", f.GRID_A)
    thief = copy_of(app, browser)
    token = token_login(app.test_client(), "retired", PASSWORD).get_json()["token"]
    result = app.test_cli_runner().invoke(args=["deactivate-user", "retired"])
    assert result.exit_code == 0, result.output
    assert not signed_in(browser) and not signed_in(thief) and not token_works(browser, token)
    again = token_login(app.test_client(), "retired", PASSWORD)
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "invalid_credentials"
    assert app.test_cli_runner().invoke(args=["deactivate-user", "nobody-by-that-name"]).exit_code != 0


def test_a_user_deactivated_in_the_database_is_refused_at_once(app, db_session):
    # No admin page or API deactivates users; a database edit of app_user.active must hold too.
    browser = logged_in(app, db_session, "edited-out")
    token = token_login(app.test_client(), "edited-out", PASSWORD).get_json()["token"]
    db_session.execute(update(User).where(User.username == "edited-out").values(active=False))
    db_session.commit()
    assert not signed_in(browser) and not token_works(browser, token)


def test_set_password_on_the_command_line_ends_cookies_and_tokens(app, db_session):
    browser = logged_in(app, db_session, "forgot", "planner", f.COMMUNITY)
    token = token_login(app.test_client(), "forgot", PASSWORD).get_json()["token"]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["set-password", "forgot", "--password-stdin"], input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert not signed_in(browser) and not token_works(browser, token)
    assert token_login(app.test_client(), "forgot", PASSWORD).status_code == 401
    assert token_login(app.test_client(), "forgot", NEW_PASSWORD).status_code == 200
    short = runner.invoke(args=["set-password", "forgot", "--password-stdin"], input="short\n")
    assert short.exit_code != 0
    unknown = runner.invoke(args=["set-password", "nobody-by-that-name", "--password-stdin"], input=NEW_PASSWORD)
    assert unknown.exit_code != 0 and "nobody-by-that-name" in unknown.output
    assert db_session.scalar(select(User.active).where(User.username == "forgot")) is True


# --- no open redirect after login ---------------------------------------------------------------

OPEN_REDIRECTS = [
    "//evil.example/", "///evil.example/", "/\\evil.example", "\\\\evil.example", "/%5Cevil.example",
    "/%5cevil.example", "/%2F%2Fevil.example", "/%2f/evil.example", "/%252F%252Fevil.example",
    "https:evil.example", "https://evil.example/", "HTTPS://evil.example", "javascript:alert(1)",
    " javascript:alert(1)", "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example",
    "/%09/evil.example", "/%0a/evil.example", "/\x00/evil.example", "/\u3000/evil.example", "evil.example",
    "//\\evil.example", "/.//evil.example",
]


@pytest.mark.parametrize("payload", OPEN_REDIRECTS)
def test_no_open_redirect_after_login(app, client, db_session, payload):
    create_user(db_session, "redirected", PASSWORD, "admin")
    response = login(client, "redirected", next_path=payload)
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 302:
        assert response.headers["Location"] == "/", (payload, response.headers["Location"])


@pytest.mark.parametrize("target", ["/maps/area/all", f"/maps/grid/{f.GRID_A}?layer=households", "/hazards"])
def test_a_same_site_path_survives_login(app, client, db_session, target):
    create_user(db_session, "returning", PASSWORD, "admin")
    response = login(client, "returning", next_path=target)
    assert response.status_code == 302 and response.headers["Location"] == target


# --- no account enumeration ---------------------------------------------------------------------

CHINA = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("path", ["/api/v1/checkins", "/api/v1/patrol/tracks"])
def test_user_filter_answers_alike_for_unknown_and_out_of_scope_users(client, db_session, path):
    f.lishui(db_session)
    wang = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A, username="wang"))
    day = (datetime.now(CHINA) - timedelta(days=1)).date()
    item = {"id": str(uuid.uuid4()), "lon": 119.885, "lat": 28.455, "accuracy_m": 10,
            "recorded_at": datetime.combine(day, time(9), CHINA).isoformat()}
    assert client.post("/api/v1/checkins", json=item, headers=wang).status_code == 201
    viewers = {"other street": f.auth(f.token_for(db_session, "supervisor", f.OTHER_STREET)),
               "next grid's worker": f.auth(f.token_for(db_session, "grid_worker", f.GRID_B, username="li"))}
    for who, headers in viewers.items():
        known = client.get(path, query_string={"user": "wang", "date": day.isoformat()}, headers=headers)
        unknown = client.get(path, query_string={"user": "no-such-user", "date": day.isoformat()}, headers=headers)
        assert (known.status_code, known.get_json()) == (unknown.status_code, unknown.get_json()), who
        assert known.status_code == 200


def test_login_answers_alike_for_unknown_inactive_and_wrong_password(client, db_session, monkeypatch):
    create_user(db_session, "exists", PASSWORD, "admin")
    create_user(db_session, "was-here", PASSWORD, "admin")
    db_session.execute(update(User).where(User.username == "was-here").values(active=False))
    db_session.commit()
    verified = []
    real_verify = service.verify_password
    monkeypatch.setattr(service, "verify_password", lambda h, p: verified.append(1) or real_verify(h, p))

    def answers(username):
        verified.clear()
        response = token_login(client, username, "wrong-password")
        return response.status_code, response.get_json(), len(verified)

    # Same status, same body, and one Argon2 verification each (the same time).
    assert answers("exists") == answers("no-such-user") == answers("was-here") == (401, {"error": {
        "code": "invalid_credentials", "message": "用户名或密码错误。", "details": {}}}, 1)
    for _ in range(5):
        token_login(client, "exists", "wrong-password")
        token_login(client, "no-such-user", "wrong-password")
    assert answers("exists")[:2] == answers("no-such-user")[:2]
    assert answers("exists")[0] == 429


def test_the_login_page_answers_alike_for_unknown_and_wrong_password(client, db_session):
    create_user(db_session, "page-user", PASSWORD, "admin")
    known = login(client, "page-user", "wrong-password")
    unknown = login(client, "no-such-page-user", "wrong-password")
    assert known.status_code == unknown.status_code == 401

    def without_csrf(response):
        return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))

    assert without_csrf(known) == without_csrf(unknown)


# --- login throttling ---------------------------------------------------------------------------

NAT = "203.0.113.7"      # an office or a carrier's NAT: many users, one address
ELSEWHERE = "198.51.100.9"


def test_guessing_one_account_is_throttled_even_with_the_right_password(client, db_session):
    create_user(db_session, "target", PASSWORD, "admin")
    statuses = [token_login(client, "target", f"guess-{i}", NAT).status_code for i in range(5)]
    assert statuses == [401] * 5
    assert token_login(client, "target", PASSWORD, NAT).status_code == 429


def test_guessing_one_account_from_many_addresses_is_throttled(client, db_session):
    create_user(db_session, "popular", PASSWORD, "admin")
    for i in range(30):
        token_login(client, "popular", f"guess-{i}", f"192.0.2.{i}")
    assert token_login(client, "popular", PASSWORD, "192.0.2.200").status_code == 429


def test_a_sprayer_behind_a_nat_does_not_lock_out_its_users(client, db_session):
    for name in ("colleague-1", "colleague-2", "owner"):
        create_user(db_session, name, PASSWORD, "grid_worker", f.GRID_A)
        assert token_login(client, name, PASSWORD, NAT).status_code == 200  # they work there every day
    # The sprayer, behind the same NAT, tries one password on many accounts (some real, most not) ...
    for i in range(60):
        token_login(client, f"sprayed-{i}", "Password123", NAT)
    token_login(client, "owner", "Password123", NAT)
    # ... and is stopped: a fresh account from that address is refused before its password is tried.
    create_user(db_session, "never-here", "Password123", "grid_worker", f.GRID_A)
    assert token_login(client, "never-here", "Password123", NAT).status_code == 429
    # The users who log in from that address still can, even the one the sprayer tried.
    for name in ("colleague-1", "colleague-2", "owner"):
        assert token_login(client, name, PASSWORD, NAT).status_code == 200, name
    # And from elsewhere nothing is in the way.
    assert token_login(client, "never-here", "Password123", ELSEWHERE).status_code == 200


def test_an_account_under_attack_from_many_addresses_still_logs_in_where_its_owner_works(client, db_session):
    create_user(db_session, "besieged", PASSWORD, "supervisor", f.STREET)
    assert token_login(client, "besieged", PASSWORD, NAT).status_code == 200
    for i in range(30):
        token_login(client, "besieged", f"guess-{i}", f"192.0.2.{i}")
    assert token_login(client, "besieged", PASSWORD, "192.0.2.250").status_code == 429
    assert token_login(client, "besieged", PASSWORD, NAT).status_code == 200
