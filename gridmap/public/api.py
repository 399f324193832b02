"""The residents' API (no login): a proof-of-work challenge, a report, a report's status by its
tracking code, and one grid's address search. Declared with the ``public`` scope rule.

CSRF: these routes never read the session cookie, so a forged cross-site POST acts as nobody,
exactly as the resident's own; what stands in for a CSRF token is the challenge, which only a
reader of GET /public/challenge has, and which is spent by the report."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app, request
from pydantic import BaseModel, Field, field_validator

from gridmap.addresses.service import search_grid
from gridmap.apidoc import NO_NUL, PUBLIC, operation, parse_model
from gridmap.auth.roles import ADMIN, SUPERVISOR
from gridmap.auth.scope import ANYONE, AREA, PUBLIC_RULE
from gridmap.config import MiB
from gridmap.hazards import photos
from gridmap.hazards.api import uploaded_photos
from gridmap.hazards.models import ANSWERS
from gridmap.public import callback, service, throttle
from gridmap.public import challenge as pow_challenge
from gridmap.schemas import SOME_TEXT, Crs, Lat, Lon
from gridmap.web import get_session

bp = Blueprint("public_api", __name__)

GRID_CODE = r"^[0-9]{15}$"
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{5,18}[0-9]$"
DESCRIPTION_MAX = 1000


class ReportForm(BaseModel):
    grid: str = Field(pattern=GRID_CODE, description="网格编码（二维码所指的网格）")
    category: str = Field(min_length=1, max_length=32, description="问题类别（代码或中文名）")
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX, pattern=SOME_TEXT, description="问题描述")
    lon: Lon
    lat: Lat
    crs: Crs = None
    address: str | None = Field(None, max_length=200, description="地址（可从地址检索中选）")
    phone: str | None = Field(None, pattern=PHONE_PATTERN, description="联系电话（可不填，仅供回访）")
    challenge: str = Field(min_length=1, max_length=200, description="GET /public/challenge 取得的挑战")
    nonce: str = Field(min_length=1, max_length=pow_challenge.NONCE_MAX_LENGTH, pattern=r"^[0-9a-zA-Z]+$",
                       description="工作量证明的解")

    @field_validator("phone", "address", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return value or None

    @field_validator("phone")
    @classmethod
    def _digits(cls, value: str | None) -> str | None:
        return "".join(ch for ch in value if ch.isdigit()) if value else None


def _form_field(prop: dict) -> dict:
    """A form field's schema as the model states it (the null branch of an optional one dropped)."""
    branches = [b for b in prop.get("anyOf", [prop]) if b != {"type": "null"}]
    return {**{k: v for k, v in prop.items() if k not in ("anyOf", "default", "title")}, **branches[0]}


_REPORT_SCHEMA = ReportForm.model_json_schema()
REPORT_FORM = {"file": "file", **{name: {**_form_field(prop), "x-required": name in _REPORT_SCHEMA["required"]}
                                  for name, prop in _REPORT_SCHEMA["properties"].items()}}


class SatisfactionBody(BaseModel):
    answer: Literal[ANSWERS] = Field(description="satisfied 满意、basically_satisfied 基本满意、dissatisfied 不满意")  # type: ignore[valid-type]
    comment: str = Field("", max_length=500, pattern=NO_NUL, description="意见（可不填）")
    challenge: str = Field(min_length=1, max_length=200, description="GET /public/challenge 取得的挑战")
    nonce: str = Field(min_length=1, max_length=pow_challenge.NONCE_MAX_LENGTH, pattern=r"^[0-9a-zA-Z]+$",
                       description="工作量证明的解")


class Satisfaction(BaseModel):
    can_answer: bool
    answer: str | None
    answer_name: str | None


class Deadlines(BaseModel):
    accept_by: str
    resolve_by: str


class PublicStatus(BaseModel):
    tracking_code: str
    category: str
    category_name: str
    grid_name: str | None
    status: str
    status_name: str
    reply: str
    public_reply: str | None
    satisfaction: Satisfaction
    reported_at: str
    deadlines: Deadlines
    overdue: bool
    closed_at: str | None


class PublicReportResponse(PublicStatus):
    similar_reports: int


class ChallengeResponse(BaseModel):
    challenge: str
    bits: int
    expires_in_s: int


class AddressQuery(BaseModel):
    q: str = Field(min_length=1, max_length=64, pattern=SOME_TEXT, description="地址中的文字")


class PublicAddress(BaseModel):
    address: str
    lon: float
    lat: float


class PublicAddressList(BaseModel):
    items: list[PublicAddress]
    total: int


def rules() -> service.Rules:
    settings = current_app.config["GRIDMAP"]
    return service.Rules(secret=settings.secret_key, pow_bits=settings.public_pow_bits,
                         pow_ttl_s=settings.public_pow_ttl_s, limits=throttle.Limits.of(settings),
                         photos=photos.PhotoLimits(int(settings.hazard_photo_max_mb * MiB),
                                                   settings.public_photo_max_count))


def body_limit() -> int:
    return rules().photos.body


@operation(bp, "/public/challenge", "GET", summary="居民上报前的工作量证明挑战（代替验证码）", tag="public",
           scope=ANYONE, roles=PUBLIC, response=ChallengeResponse)
def public_challenge():
    settings = current_app.config["GRIDMAP"]
    return pow_challenge.issue(settings.secret_key, settings.public_pow_bits, settings.public_pow_ttl_s)


@operation(bp, "/public/reports", "POST", summary="居民吹哨：匿名反映问题（落入网格问题队列，返回查询码）",
           tag="public", scope=PUBLIC_RULE, roles=PUBLIC, form=REPORT_FORM, response=PublicReportResponse,
           response_status=201, errors=(404, 409, 413, 422, 429), max_body=body_limit,
           data_errors=("challenge_invalid", "challenge_used", "public_grid_not_found", "public_place_outside_grid",
                        "public_rate_limited", "hazard_category_unknown", "invalid_crs", "hazard_photo_type",
                        "hazard_photo_invalid", "hazard_photo_too_many"))
def public_report():
    form = parse_model(ReportForm, request.form.to_dict())
    limits = rules()
    uploads = uploaded_photos(limits.photos)
    result = service.submit(
        get_session(), limits, grid_code=form.grid, category=form.category, description=form.description,
        lon=form.lon, lat=form.lat, crs=form.crs, address=form.address, phone=form.phone,
        challenge_token=form.challenge, nonce=form.nonce, uploads=uploads, client_address=request.remote_addr or "")
    return result, 201


@operation(bp, "/public/reports/<tracking_code>", "GET", summary="居民凭查询码查看办理进度（不含任何个人信息）",
           tag="public", scope=PUBLIC_RULE, roles=PUBLIC, response=PublicStatus, errors=(404,))
def public_report_status(tracking_code: str):
    return service.status(get_session(), tracking_code)


@operation(bp, "/public/reports/<tracking_code>/satisfaction", "POST",
           summary="居民回访评价：核查通过后凭查询码评价一次（满意、基本满意、不满意；不满意将重新办理）", tag="public",
           scope=PUBLIC_RULE, roles=PUBLIC, body=SatisfactionBody, response=PublicStatus, errors=(404, 409, 422, 429),
           data_errors=("challenge_invalid", "challenge_used", "public_report_not_found", "satisfaction_not_open",
                        "satisfaction_already_answered", "public_rate_limited"))
def public_satisfaction(tracking_code: str, body: SatisfactionBody):
    return service.answer(get_session(), rules(), tracking_code, answer=body.answer, comment=body.comment,
                          challenge_token=body.challenge, nonce=body.nonce, client_address=request.remote_addr or "")


@operation(bp, "/public/grids/<grid_code>/addresses", "GET", summary="本网格地址检索（只有地址和位置）",
           tag="public", scope=PUBLIC_RULE, roles=PUBLIC, query=AddressQuery, response=PublicAddressList,
           errors=(404,))
def public_addresses(grid_code: str, query: AddressQuery):
    session = get_session()
    service.grid(session, grid_code)
    return search_grid(session, grid_code, query.q)


class ReporterPhone(BaseModel):
    hazard_id: int
    phone: str | None
    masked: bool


@operation(bp, "/hazards/<int:hazard_id>/reporter-phone", "GET",
           summary="回访电话：居民留下的电话（待回访时对可回访的人员显示完整号码并记入审计，否则打码）", tag="hazards",
           scope=AREA, roles=(ADMIN, SUPERVISOR), response=ReporterPhone, errors=(404,))
def reporter_phone(scope, hazard_id: int):
    shown = callback.reporter_phone(get_session(), scope, hazard_id)
    return {"hazard_id": hazard_id, "phone": shown["phone"], "masked": shown["masked"]}
