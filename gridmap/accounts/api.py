"""POST /api/v1/auth/token: a bearer token for a username and password; DELETE revokes it;
POST /api/v1/auth/password: the caller changes their own password."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, request
from pydantic import BaseModel, Field

from gridmap.accounts.service import MIN_PASSWORD_LENGTH, change_password
from gridmap.apidoc import PUBLIC, operation
from gridmap.auth.current import current_user
from gridmap.auth.models import User
from gridmap.auth.roles import ALL_ROLES
from gridmap.auth.scope import ANYONE, OWN_ACCOUNT, OWN_TOKEN
from gridmap.auth.service import authenticate, issue_token, revoke_token, user_json
from gridmap.web import get_session

bp = Blueprint("accounts_api", __name__)


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
    user = authenticate(get_session(), body.username, body.password, request.remote_addr or "")
    return _new_token(user)


def _new_token(user: User) -> dict[str, object]:
    value, expires_at = issue_token(get_session(), user, current_app.config["GRIDMAP"].token_ttl_hours)
    return {"token": value, "expires_at": expires_at.isoformat(), "user": user_json(user)}


@operation(bp, "/auth/token", "DELETE", summary="注销当前访问令牌", tag="auth", scope=OWN_TOKEN, roles=ALL_ROLES, response_status=204)
def revoke(scope):
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        revoke_token(get_session(), header[len("Bearer "):].strip())
    return "", 204


class PasswordChange(BaseModel):
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=256)


@operation(bp, "/auth/password", "POST", summary="修改本人密码（本人所有登录和令牌随即失效，返回新令牌）", tag="auth",
           scope=OWN_ACCOUNT, roles=ALL_ROLES, body=PasswordChange, response=TokenResponse, errors=(403, 429))
def password(scope, body: PasswordChange):
    user = current_user()
    change_password(get_session(), user, body.old_password, body.new_password, request.remote_addr or "")
    return _new_token(user)
