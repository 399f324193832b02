"""Two app servers, one database: a user whose requests alternate between two ``serve``
processes (as behind a load balancer) meets one application. Sessions, CSRF tokens, API
tokens, login throttling, check-in idempotency and hazard state changes live in the
database or the signed cookie (same SECRET_KEY), never in one process's memory."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import cycle

import psycopg2
import pytest
import requests

import gridmap.models  # noqa: F401  (every model, for the factories)
from gridmap.auth.service import create_user
from gridmap.auth.throttle import MAX_PER_PAIR
from gridmap.db import Database
from tests import factories as f
from tests.security.crash_support import Server, scratch_database

PASSWORD = "two-servers-pass-1"
IN_A = (119.885, 28.455)


@pytest.fixture(scope="module")
def servers():
    pair: list[Server] = []
    with scratch_database("gridmap_two_servers") as url:
        try:
            database = Database(url)
            with database.session() as session:
                f.lishui(session)
                for username, role, scope in (("sup", "supervisor", f.COMMUNITY),
                                              ("guessed", "grid_worker", f.GRID_A)):
                    create_user(session, username, PASSWORD, role, scope)
                tokens = {"worker": f.token_for(session, "grid_worker", f.GRID_A, username="worker-a"),
                          "community": f.token_for(session, "supervisor", f.COMMUNITY, username="sup-token")}
                session.commit()
            database.engine.dispose()
            pair = [Server(url, workers=1), Server(url, workers=1)]
            yield pair, tokens, url
        finally:
            for server in pair:
                server.stop()


def _csrf(browser: requests.Session, server: Server) -> str:
    page = browser.get(f"{server.url}/login", timeout=10).text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _signed_in(browser: requests.Session, server: Server) -> bool:
    status = browser.get(f"{server.url}/api/v1/areas", timeout=10).status_code
    assert status in (200, 401), status
    return status == 200


def test_a_login_on_one_server_is_a_login_and_a_logout_on_the_other(servers):
    (a, b), _, _ = servers
    browser = requests.Session()
    token = _csrf(browser, a)                                      # the form comes from A
    answer = browser.post(f"{b.url}/login", data={"username": "sup", "password": PASSWORD, "csrf_token": token},
                          allow_redirects=False, timeout=30)       # and is sent to B
    assert answer.status_code == 302, answer.text
    assert _signed_in(browser, a) and _signed_in(browser, b)
    assert browser.post(f"{a.url}/logout", data={"csrf_token": _csrf(browser, b)}, allow_redirects=False,
                        timeout=10).status_code == 302
    assert not _signed_in(browser, b) and not _signed_in(browser, a)


def test_a_forged_csrf_token_is_refused_by_either_server(servers):
    (a, b), _, _ = servers
    browser = requests.Session()
    _csrf(browser, a)
    for server in (a, b):
        answer = browser.post(f"{server.url}/login", data={"username": "sup", "password": PASSWORD,
                                                           "csrf_token": "forged"}, allow_redirects=False, timeout=10)
        assert answer.status_code == 400
    assert not _signed_in(browser, a)


def test_a_token_from_one_server_works_and_is_revoked_on_the_other(servers):
    (a, b), _, _ = servers
    answer = requests.post(f"{a.url}/api/v1/auth/token", json={"username": "sup", "password": PASSWORD}, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    headers = f.auth(answer.json()["token"])
    assert requests.get(f"{b.url}/api/v1/areas", headers=headers, timeout=10).status_code == 200
    assert requests.delete(f"{b.url}/api/v1/auth/token", headers=headers, timeout=10).status_code in (200, 204)
    assert requests.get(f"{a.url}/api/v1/areas", headers=headers, timeout=10).status_code == 401


def test_login_failures_count_together_on_both_servers(servers):
    (a, b), _, _ = servers
    for server in (a, b, a, b, a):                                 # MAX_PER_PAIR failures, split over both
        answer = requests.post(f"{server.url}/api/v1/auth/token", json={"username": "guessed", "password": "wrong"},
                               timeout=30)
        assert answer.status_code == 401
    for server in (b, a):                                          # then even the right password waits
        answer = requests.post(f"{server.url}/api/v1/auth/token", json={"username": "guessed", "password": PASSWORD},
                               timeout=30)
        assert answer.status_code == 429


def test_guesses_sent_at_once_to_both_servers_get_no_more_answers_than_one_at_a_time(servers):
    """Each guess counts before its password is checked (gridmap.auth.throttle.begin_attempt): of
    24 sent at once, alternating servers, MAX_PER_PAIR are answered and the rest wait (16 were
    answered when the count came after the check)."""
    (a, b), _, _ = servers

    def guess(server: Server) -> int:
        return requests.post(f"{server.url}/api/v1/auth/token", json={"username": "guessed-at-once", "password": "x"},
                             timeout=60).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = sorted(pool.map(guess, [a, b] * 12))
    assert statuses == [401] * MAX_PER_PAIR + [429] * (24 - MAX_PER_PAIR)


def _checkin(server: Server, token: str, checkin_id: str):
    body = {"id": checkin_id, "lon": IN_A[0], "lat": IN_A[1], "accuracy_m": 10,
            "recorded_at": datetime.now(UTC).isoformat(), "crs": "wgs84"}
    return requests.post(f"{server.url}/api/v1/checkins", json=body, headers=f.auth(token), timeout=30)


def _stored(url: str, sql: str, *params) -> int:
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
    finally:
        connection.close()


def test_a_check_in_sent_to_both_servers_is_stored_once(servers):
    (a, b), tokens, url = servers
    first = str(uuid.uuid4())
    assert _checkin(a, tokens["worker"], first).status_code == 201
    again = _checkin(b, tokens["worker"], first)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    racing = str(uuid.uuid4())
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda server: _checkin(server, tokens["worker"], racing), [a, b] * 4))
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201]
    assert _stored(url, "SELECT count(*) FROM checkin WHERE id = ANY(%s::uuid[])", [first, racing]) == 2


def test_one_hazard_action_wins_when_both_servers_take_it_at_once(servers):
    (a, b), tokens, url = servers
    report = {"category": "fire", "severity": "normal", "description": "楼道堆放杂物", "lon": IN_A[0], "lat": IN_A[1]}
    created = requests.post(f"{a.url}/api/v1/hazards", json=report, headers=f.auth(tokens["worker"]), timeout=30)
    assert created.status_code == 201, created.text
    hazard_id = created.json()["id"]
    servers_in_turn = cycle((a, b))

    def accept(_):
        server = next(servers_in_turn)
        return requests.post(f"{server.url}/api/v1/hazards/{hazard_id}/actions", json={"action": "accept"},
                             headers=f.auth(tokens["community"]), timeout=30).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(accept, range(4)))
    assert statuses == [200, 409, 409, 409]
    assert _stored(url, "SELECT count(*) FROM hazard_event WHERE hazard_id = %s AND action = 'accept'", hazard_id) == 1
