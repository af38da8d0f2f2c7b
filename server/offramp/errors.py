"""Errors the services raise; the web layer turns them into JSON or HTML.

The JSON body is always ``{"error": {"code", "message", "field"}}``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="What went wrong and what is allowed, in plain words.")
    field: str | None = Field(description="The input field at fault, when there is one.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class OfframpError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class Invalid(OfframpError):
    status_code = 422
    code = "invalid"


class BadRequest(OfframpError):
    status_code = 400
    code = "bad_request"


class Unauthorized(OfframpError):
    status_code = 401
    code = "key_required"


class Forbidden(OfframpError):
    status_code = 403
    code = "forbidden"


class NotFound(OfframpError):
    status_code = 404
    code = "not_found"


class Conflict(OfframpError):
    status_code = 409
    code = "conflict"
