"""One exception class per failure, each with its HTTP status and stable code, and the one
error shape of the API. Any layer raises these; app/web/errors.py answers them.
"""


class AppError(Exception):
    """A failure with an HTTP status and a stable error code."""

    status = 400
    code = "bad_request"
    headers = {}

    def __init__(self, message, details=None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(AppError):
    status, code = 422, "validation_error"


class MalformedJSON(AppError):
    status, code = 400, "malformed_json"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="kaketsuke"'}


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class GuardConflict(Conflict):
    code = "guard_refused"


class ConcurrentUpdate(Conflict):
    code = "concurrent_update"

    def __init__(self, reference):
        super().__init__("The incident was changed by someone else; reload and try again.",
                         {"reference": reference})


class ServiceUnavailable(AppError):
    status, code = 503, "service_unavailable"
    headers = {"Retry-After": "5"}


HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited",
    500: "internal_error", 503: "service_unavailable",
}


def error_body(code, message, details=None):
    """The one error shape of the API."""
    return {"error": {"code": code, "message": message, "details": details or {}}}
