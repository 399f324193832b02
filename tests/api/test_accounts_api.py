"""Tokens: expiry, revocation, inactive users; errors never leak a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from gridmap.auth.models import ApiToken, User
from gridmap.auth.service import revoke_token
from tests import factories as f


def test_expired_token_is_refused(client, db_session):
    token = f.token_for(db_session, "admin")
    db_session.execute(update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    db_session.commit()
    response = client.get("/api/v1/grids", headers=f.auth(token))
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_expired"


def test_revoked_token_and_inactive_user_are_refused(client, db_session):
    token = f.token_for(db_session, "admin")
    assert client.get("/api/v1/grids", headers=f.auth(token)).status_code == 200
    revoke_token(db_session, token)
    assert client.get("/api/v1/grids", headers=f.auth(token)).status_code == 401
    other = f.token_for(db_session, "supervisor", f.DISTRICT)
    db_session.execute(update(User).where(User.role == "supervisor").values(active=False))
    db_session.commit()
    assert client.get("/api/v1/grids", headers=f.auth(other)).status_code == 401


def test_garbage_tokens_and_bodies_are_4xx(client, db_session):
    assert client.get("/api/v1/grids", headers={"Authorization": "Bearer \x00\x01"}).status_code == 401
    assert client.post("/api/v1/auth/token", json=["a", "b"]).status_code == 400
    assert client.post("/api/v1/auth/token", json={"username": "", "password": "x"}).status_code == 400
    assert client.get("/api/v1/nothing-here").status_code == 404
    assert client.delete("/api/v1/grids").status_code == 405
    assert client.get("/api/v1/nothing-here").get_json()["error"]["code"] == "not_found"


def test_oversized_upload_is_413(app, client, db_session):
    token = f.token_for(db_session, "admin")
    limit = app.config["IMPORT_MAX_CONTENT_LENGTH"]  # the import routes' own limit (GRIDMAP_MAX_UPLOAD_MB)
    app.config["IMPORT_MAX_CONTENT_LENGTH"] = 1024
    try:
        import io

        response = client.post("/api/v1/imports/households", headers=f.auth(token),
                               data={"file": (io.BytesIO(b"x" * 4096), "h.csv")}, content_type="multipart/form-data")
    finally:
        app.config["IMPORT_MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "payload_too_large"


def test_login_is_throttled_per_account_then_429(client, db_session):
    from gridmap.auth.service import create_user

    create_user(db_session, "target", "right-password", "admin")
    for _ in range(5):
        assert client.post("/api/v1/auth/token", json={"username": "target", "password": "guess"}).status_code == 401
    blocked = client.post("/api/v1/auth/token", json={"username": "target", "password": "right-password"})
    assert blocked.status_code == 429 and blocked.get_json()["error"]["code"] == "rate_limited"
    other = client.post("/api/v1/auth/token", json={"username": "someone-else", "password": "guess"})
    assert other.status_code == 401  # another account from the same address is still answered


def test_login_is_throttled_per_address(client, db_session):
    for i in range(20):
        client.post("/api/v1/auth/token", json={"username": f"spray-{i}", "password": "guess"})
    response = client.post("/api/v1/auth/token", json={"username": "spray-new", "password": "guess"})
    assert response.status_code == 429


def test_success_clears_the_account_failures(client, db_session):
    from gridmap.auth.service import create_user

    create_user(db_session, "forgetful", "right-password", "admin")
    for _ in range(4):
        client.post("/api/v1/auth/token", json={"username": "forgetful", "password": "typo"})
    assert client.post("/api/v1/auth/token", json={"username": "forgetful", "password": "right-password"}).status_code == 200
    for _ in range(4):
        client.post("/api/v1/auth/token", json={"username": "forgetful", "password": "typo"})
    assert client.post("/api/v1/auth/token", json={"username": "forgetful", "password": "right-password"}).status_code == 200


def test_a_client_revokes_its_own_token(client, db_session):
    token = f.token_for(db_session, "grid_worker", f.GRID_A)
    assert client.delete("/api/v1/auth/token", headers=f.auth(token)).status_code == 204
    assert client.get("/api/v1/grids", headers=f.auth(token)).status_code == 401
