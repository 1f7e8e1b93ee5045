"""Flask extensions, created unbound and initialised in the app factory."""

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name, get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

# Named constraints from day one: SQLite migrations (batch mode) need the names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Per-client limits on what can be hammered (login, public form, API intake); the numbers are
# settings (RATELIMIT_* in app/config.py), the key is the client IP unless a limit names another.
limiter = Limiter(key_func=get_remote_address)


def limit_setting(name):
    """A limit read from the settings at request time, e.g. "10/minute;50/hour"."""
    return lambda: current_app.config[name]


@limiter.request_filter
def _limits_switched_off():
    """RATELIMIT_ENABLED is per app: the one limiter must not count for an app with it off
    (Flask-Limiter keeps its on/off switch on the limiter, shared by every app)."""
    return not current_app.config["RATELIMIT_ENABLED"]


def spend_view_limits():
    """Count a request refused before its view ran (hostile text, a body the API's models
    refuse) against the view's own limits (@limiter.limit), which Flask-Limiter checks only
    when the view runs: a refused intake post would otherwise be free. RateLimitExceeded
    past the limit."""
    view = current_app.view_functions.get(request.endpoint or "")
    name = get_qualified_name(view) if view else ""
    if name in limiter._marked_for_limiting:  # Flask-Limiter has no public way to ask
        limiter._check_request_limit(in_middleware=False, callable_name=name)
