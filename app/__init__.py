"""Kaketsuke: the Otasuketai incident-response and on-site dispatch system."""

from flask_openapi3 import Info, OpenAPI

from app.config import BASE_DIR, config_for_environment, refuse_insecure_secret_key


def create_app(config_class=None, **overrides):
    """Build the application: config, extensions, blueprints, errors, CLI."""
    app = OpenAPI(
        __name__,
        info=Info(title="Kaketsuke API", version="1.0.0",
                  description="Incident intake, lifecycle and dispatch for the "
                              "Cyber Security Otasuketai service."),
        security_schemes={"bearerAuth": {"type": "http", "scheme": "bearer"}},
        doc_prefix="/api", doc_url="/openapi.json",
        validation_error_callback=_validation_error_response,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    app.config.from_object(config_class or config_for_environment())
    app.config.update(overrides)
    refuse_insecure_secret_key(app.config)
    app.json.ensure_ascii = False  # Japanese stays readable in API responses
    _trust_proxy_headers(app)
    _init_extensions(app)
    _wire(app)
    from app.web import inputs
    inputs.init_app(app)  # NUL, lone surrogates and deep JSON refused before any view
    _register_blueprints(app)
    _exempt_from_rate_limits(app)
    app.after_request(_security_headers)
    from app.web.errors import register_error_handlers
    register_error_handlers(app)
    from app.cli import register_cli
    register_cli(app)
    return app


# Pages load only their own CSS; the API's interactive page (/api/swagger) needs its inline script.
PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
# JSON answers are data, never a document to render or frame.
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def _security_headers(response):
    """Headers every response carries: no sniffing, no framing, a strict policy for pages,
    and over HTTPS (Secure cookies) HSTS so browsers never fall back to plain HTTP."""
    from flask import current_app, request

    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith("/api/v1/"):
        response.headers.setdefault("Content-Security-Policy", API_CSP)
    elif not request.path.startswith("/api/"):
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault(
            "Strict-Transport-Security",
            f"max-age={current_app.config['HSTS_MAX_AGE_SECONDS']}; includeSubDomains")
    return response


def _trust_proxy_headers(app):
    """Read the client's IP (and scheme) from the reverse proxy's X-Forwarded-* headers, but
    only from as many proxies as configured: an untrusted header would let anyone choose the
    IP that rate limits count."""
    x_for, x_proto = app.config["PROXY_FIX_X_FOR"], app.config["PROXY_FIX_X_PROTO"]
    if x_for or x_proto:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=x_for, x_proto=x_proto)


def _exempt_from_rate_limits(app):
    """Twilio's webhooks (signed; Twilio retries) and alert ingest (sensors send bursts and
    hold their own key) are never rate limited, whatever default limit is configured."""
    from app.extensions import limiter
    from app.webhooks import bp as webhooks_bp

    limiter.exempt(webhooks_bp)
    limiter.exempt(app.view_functions["api.ingest_alerts"])


def _validation_error_response(exc):
    """flask-openapi3's pydantic errors in the one API error shape."""
    from flask import jsonify

    from app.errors import error_body
    from app.extensions import spend_view_limits
    spend_view_limits()  # a refused intake counts against its limit too (429 past it)
    fields = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"],
               "type": e["type"]} for e in exc.errors()]
    response = jsonify(error_body("validation_error", "The request is not valid.",
                                  {"fields": fields}))
    response.status_code = 422
    return response


def _init_extensions(app):
    from app import auth, files
    from app.extensions import babel, csrf, db, limiter, login_manager, migrate
    from app.web import i18n

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    limiter.init_app(app)  # before CSRF: a post without a token still counts
    csrf.init_app(app)
    login_manager.init_app(app)
    auth.init_login(login_manager)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=lambda: "Asia/Tokyo")
    i18n.init_app(app)
    files.init_app(app)
    _sqlite_pragmas(app)


def _wire(app):
    """Bind the workflows' facts and side effects, and the worker's tasks, to the services
    that carry them out (app/services/wiring.py)."""
    from app.services import bindings, wiring
    from notifications import worker

    bindings.install(app, wiring.BINDINGS)
    worker.init_app(app, tasks=wiring.WORKER_TASKS, on_give_up=wiring.ON_MESSAGE_FAILED)


def _sqlite_pragmas(app):
    """SQLite: foreign keys on, WAL, and one writer at a time.

    Transactions start with BEGIN IMMEDIATE: a deferred transaction that reads and
    then writes can fail at once with "database is locked" when another writer
    committed in between; taking the write lock up front makes writers queue
    (busy_timeout) instead.
    """
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _register_blueprints(app):
    """Every audience's blueprint, in one visible list."""
    from app.api import bp as api_bp
    from app.web.admin import bp as admin_bp
    from app.web.customer import bp as customer_bp
    from app.web.dashboard import bp as dashboard_bp
    from app.web.desk import bp as desk_bp
    from app.web.devtools import bp as devtools_bp
    from app.web.dispatch import bp as dispatch_bp
    from app.web.insurer import bp as insurer_bp
    from app.web.public import bp as public_bp
    from app.web.reports import bp as reports_bp
    from app.web.technician import bp as technician_bp
    from app.webhooks import bp as webhooks_bp

    app.register_api(api_bp)  # its ids are checked by its Id type: a 422 naming the field
    from app.web import inputs
    inputs.bound_integer_routes(app)  # the routes below: an id past INTEGER is a 404
    app.register_blueprint(public_bp)
    app.register_blueprint(desk_bp, url_prefix="/desk")
    app.register_blueprint(dispatch_bp, url_prefix="/dispatch")
    app.register_blueprint(technician_bp)  # /tech/... and the SMS link page /a/<token>
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(insurer_bp, url_prefix="/insurer")
    app.register_blueprint(webhooks_bp, url_prefix="/webhooks")
    app.register_blueprint(devtools_bp, url_prefix="/dev")
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(dashboard_bp, url_prefix="/dashboard")
    app.register_blueprint(customer_bp, url_prefix="/my")  # a customer's own incidents
