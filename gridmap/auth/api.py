"""POST /api/v1/auth/token: a bearer token for a username and password."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, request
from pydantic import BaseModel, Field

from gridmap.apidoc import PUBLIC, operation
from gridmap.auth.scope import ANYONE, OWN_TOKEN
from gridmap.auth.service import authenticate, issue_token, revoke_token, user_json
from gridmap.web import get_session

bp = Blueprint("auth_api", __name__)


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    token: str
    expires_at: datetime
    user: dict[str, object]


@operation(bp, "/auth/token", "POST", summary="登录，获取访问令牌", tag="auth", scope=ANYONE, roles=PUBLIC,
           body=TokenRequest, response=TokenResponse, errors=(401, 429))
def token(body: TokenRequest):
    session = get_session()
    user = authenticate(session, body.username, body.password, request.remote_addr or "")
    value, expires_at = issue_token(session, user, current_app.config["GRIDMAP"].token_ttl_hours)
    return {"token": value, "expires_at": expires_at.isoformat(), "user": user_json(user)}


@operation(bp, "/auth/token", "DELETE", summary="注销当前访问令牌", tag="auth", scope=OWN_TOKEN, response_status=204)
def revoke(scope):
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        revoke_token(get_session(), header[len("Bearer "):].strip())
    return "", 204
