"""Kaketsuke: the Otasuketai incident-response and on-site dispatch system."""

from flask_openapi3 import Info, OpenAPI

from app.config import BASE_DIR, Config


def create_app(config_class=Config, **overrides):
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
    app.config.from_object(config_class)
    app.config.update(overrides)
    app.json.ensure_ascii = False  # Japanese stays readable in API responses
    _init_extensions(app)
    _register_blueprints(app)
    app.after_request(_security_headers)
    from app.errors import register_error_handlers
    register_error_handlers(app)
    from app.cli import register_cli
    register_cli(app)
    return app


# Pages load only their own CSS; the API's interactive page (/api/swagger) needs its inline script.
PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"


def _security_headers(response):
    """Headers every response carries: no sniffing, no framing, a strict policy for pages."""
    from flask import request

    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/api/"):
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    return response


def _validation_error_response(exc):
    """flask-openapi3's pydantic errors in the one API error shape."""
    from flask import jsonify

    from app.errors import error_body
    fields = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"],
               "type": e["type"]} for e in exc.errors()]
    response = jsonify(error_body("validation_error", "The request is not valid.",
                                  {"fields": fields}))
    response.status_code = 422
    return response


def _init_extensions(app):
    from app import auth, files, i18n
    from app.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    auth.init_login(login_manager)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=lambda: "Asia/Tokyo")
    i18n.init_app(app)
    files.init_app(app)
    _sqlite_pragmas(app)


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
    from app.admin import bp as admin_bp
    from app.api import bp as api_bp
    from app.dashboard import bp as dashboard_bp
    from app.desk import bp as desk_bp
    from app.devtools import bp as devtools_bp
    from app.dispatch import bp as dispatch_bp
    from app.insurer import bp as insurer_bp
    from app.public import bp as public_bp
    from app.reports import bp as reports_bp
    from app.technician import bp as technician_bp
    from app.webhooks import bp as webhooks_bp

    app.register_api(api_bp)
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
