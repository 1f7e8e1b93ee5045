"""The handlers that answer every failure: API requests (under /api) always get
`{"error": {"code", "message", "details"}}`; people get an HTML page. The exception's text is
never shown for a 500.
"""

import time

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from app.errors import HTTP_CODES, AppError, ServiceUnavailable, error_body
from app.extensions import db, limiter


def wants_json():
    """API paths answer JSON; pages answer HTML."""
    return request.path.startswith("/api/")


def _handle_app_error(exc):
    db.session.rollback()
    if wants_json():
        return jsonify(error_body(exc.code, exc.message, exc.details)), exc.status, exc.headers
    return render_template("errors/error.html", status=exc.status, message=exc.message), \
        exc.status


def _handle_http_exception(exc):
    if not wants_json():
        return render_template("errors/error.html", status=exc.code,
                               message=exc.description), exc.code
    if exc.response is not None:  # already answered, e.g. flask-openapi3's validation errors
        return exc.response
    # Start from werkzeug's response so headers such as Allow (405) are kept.
    response = exc.get_response()
    response.data = jsonify(error_body(
        HTTP_CODES.get(exc.code, "http_error"), exc.description or exc.name)).get_data()
    response.content_type = "application/json"
    return response


def _handle_unexpected(exc):
    db.session.rollback()
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    message = "An internal error occurred; it has been logged."
    if wants_json():
        return jsonify(error_body("internal_error", message)), 500
    return render_template("errors/error.html", status=500, message=None), 500


def database_unavailable(exc):
    """True when the database is away or busy (down, restarting, pool exhausted, locked),
    as opposed to a bug: such a request may simply be sent again."""
    return isinstance(exc, (OperationalError, PoolTimeout)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _handle_database_error(exc):
    """503 `service_unavailable` while the database is unreachable; nothing was changed.

    The pool checks each connection before use (pool_pre_ping), so the next request after
    the database is back succeeds without a restart.
    """
    if not database_unavailable(exc):
        return _handle_unexpected(exc)
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.remove()  # the connection is gone; start the next request afresh
    reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0]
    current_app.logger.warning("Database unavailable on %s %s: %s", request.method,
                               request.path, reason)  # no SQL and no parameters in logs
    unavailable = ServiceUnavailable("The database is briefly unavailable; try again shortly.")
    if wants_json():
        return _handle_app_error(unavailable)
    message = _("The service is briefly unavailable. Please try again in a moment.")
    try:
        page = render_template("errors/error.html", status=503, message=message)
    except SQLAlchemyError:  # the page itself needed the database (the signed-in user)
        db.session.remove()
        page = message
    return page, 503, unavailable.headers


def _retry_after_seconds():
    """Whole seconds until the breached limit's window ends (at least 1)."""
    breached = limiter.current_limit
    if breached is None:
        return 60
    return max(1, breached.reset_at - int(time.time()))


def _handle_rate_limited(exc):
    """429 with Retry-After: the API's error shape, or a page saying how long to wait."""
    seconds = _retry_after_seconds()
    if wants_json():
        body = jsonify(error_body("rate_limited", "Too many requests; wait and try again.",
                                  {"limit": exc.description, "retry_after": seconds}))
        return body, 429, {"Retry-After": str(seconds)}
    message = _("Too many attempts. Please wait %(seconds)d seconds and try again.",
                seconds=seconds)
    return render_template("errors/error.html", status=429, message=message), 429, \
        {"Retry-After": str(seconds)}


def register_error_handlers(app):
    """Map every failure to the error shape (API) or an error page (people)."""
    app.register_error_handler(AppError, _handle_app_error)
    app.register_error_handler(RateLimitExceeded, _handle_rate_limited)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(DBAPIError, _handle_database_error)
    app.register_error_handler(PoolTimeout, _handle_database_error)
    app.register_error_handler(Exception, _handle_unexpected)
