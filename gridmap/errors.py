"""Typed application errors. Each carries its HTTP status and a catalogue code.

Services raise these; the app's error handlers turn them into the API envelope
``{"error": {"code", "message", "details"}}`` (see API.md) or an HTML page.
"""

from __future__ import annotations

from typing import Any

from gridmap.messages import message


class AppError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, error_code: str | None = None, details: dict[str, Any] | None = None,
                 retry_after: int | None = None, **params: Any):
        self.code = error_code or self.code
        self.params = params
        self.details = details if details is not None else {}
        self.retry_after = retry_after  # seconds, sent as the Retry-After header when set
        super().__init__(self.code)

    @property
    def message(self) -> str:
        return message(self.code, **self.params)

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class Unprocessable(AppError):
    status = 422
    code = "unprocessable"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"


class ServiceUnavailable(AppError):
    status = 503
    code = "database_unavailable"
