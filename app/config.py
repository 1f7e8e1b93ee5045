"""Configuration read from the environment, with safe development defaults."""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _default_database_url():
    """SQLite file under instance/ so a fresh clone runs with no database server."""
    return f"sqlite:///{BASE_DIR / 'instance' / 'kaketsuke.sqlite3'}"


def normalize_database_url(url):
    """Accept plain postgres:// URLs and route them to the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


DEV_SECRET_KEY = "dev-only-not-secret"
MIN_SECRET_KEY_LENGTH = 32


class Config:
    """Settings for a real run; every secret comes from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = normalize_database_url(
        os.environ.get("DATABASE_URL", _default_database_url())
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    NOTIFY_PROVIDER = os.environ.get("NOTIFY_PROVIDER", "console")
    NOTIFY_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_MAX_ATTEMPTS", 5))
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
    TWILIO_BASE_URL = os.environ.get("TWILIO_BASE_URL", "")  # e.g. a local fake for tests
    TWILIO_TIMEOUT_SECONDS = float(os.environ.get("TWILIO_TIMEOUT_SECONDS", 10))
    # The on-duty desk phone that incoming calls are connected to ("" records a message).
    DESK_PHONE_NUMBER = os.environ.get("DESK_PHONE_NUMBER", "")
    # How often a staff page asks for the calls ringing at the desk (the screen pop), and how
    # often the board and the desk list fetch their rows again (docs/architecture.md).
    SCREEN_POP_SECONDS = int(os.environ.get("SCREEN_POP_SECONDS", 5))
    LIVE_LIST_SECONDS = int(os.environ.get("LIVE_LIST_SECONDS", 15))
    SMTP_HOST = os.environ.get("SMTP_HOST", "")  # "" with the console provider: not sent
    SMTP_PORT = int(os.environ.get("SMTP_PORT", 25))
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_STARTTLS = os.environ.get("SMTP_STARTTLS", "0") == "1"
    SMTP_TIMEOUT_SECONDS = float(os.environ.get("SMTP_TIMEOUT_SECONDS", 10))
    MAIL_FROM = os.environ.get("MAIL_FROM", "kaketsuke@localhost")
    # The e-mail channel (docs/email.md): the desk's mailbox, read by `flask mail poll`.
    IMAP_URL = os.environ.get("IMAP_URL", "")  # imaps://user:password@host:993/INBOX
    IMAP_POLL_SECONDS = float(os.environ.get("IMAP_POLL_SECONDS", 60))
    IMAP_DONE_FOLDER = os.environ.get("IMAP_DONE_FOLDER", "Kaketsuke/Done")
    # A larger mail is refused (it stays in the done folder on the server, reason recorded).
    MAIL_MAX_BYTES = int(os.environ.get("MAIL_MAX_BYTES", 60 * 1024 * 1024))
    MAIL_MAX_RECIPIENTS = int(os.environ.get("MAIL_MAX_RECIPIENTS", 100))
    MAIL_ACK_PER_HOUR = int(os.environ.get("MAIL_ACK_PER_HOUR", 5))  # per sender
    # Only the Authentication-Results header of this server counts ("" = the topmost).
    MAIL_AUTHSERV_ID = os.environ.get("MAIL_AUTHSERV_ID", "")
    MAIL_INCIDENT_CATEGORY = os.environ.get("MAIL_INCIDENT_CATEGORY", "other")
    MAIL_INCIDENT_SEVERITY = os.environ.get("MAIL_INCIDENT_SEVERITY", "medium")
    WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", 10))
    # Minutes after an offer: [minutes, action]; page_dispatcher counts from the request.
    ESCALATION_POLICY = [[0, "sms"], [3, "voice"], [10, "next_candidate"],
                         [15, "page_dispatcher"]]
    OFFER_LINK_MAX_AGE_SECONDS = int(os.environ.get("OFFER_LINK_MAX_AGE_SECONDS", 3600))
    # Evidence uploads: streamed to EVIDENCE_DIR, at most this many bytes each.
    EVIDENCE_MAX_BYTES = int(os.environ.get("EVIDENCE_MAX_BYTES", 50 * 1024 * 1024))
    # Ed25519 private key (base64 of the 32 raw bytes) signing claim packets; when unset a
    # development key is generated once under instance/ (never in production).
    CLAIM_SIGNING_KEY = os.environ.get("CLAIM_SIGNING_KEY", "")
    # Ed25519 private key (same form) signing each incident's audit-chain head; when unset
    # a separate key is derived from the claim-signing key (HKDF; docs/security.md).
    AUDIT_SIGNING_KEY = os.environ.get("AUDIT_SIGNING_KEY", "")
    # Monitoring alerts: repeats of one alert within the window are counted, not added;
    # new alerts of these severities open an incident and page the desk, unless the
    # organization's contract has its own list (Contract.alert_incident_severities).
    ALERT_DEDUP_WINDOW_MINUTES = int(os.environ.get("ALERT_DEDUP_WINDOW_MINUTES", 60))
    ALERT_INCIDENT_SEVERITIES = tuple(
        os.environ.get("ALERT_INCIDENT_SEVERITIES", "critical,high").split(","))
    ALERT_MAX_BYTES = int(os.environ.get("ALERT_MAX_BYTES", 1024 * 1024))
    # The newest raw records kept on an alert (its repeats' included).
    ALERT_SAMPLES = int(os.environ.get("ALERT_SAMPLES", 5))
    # New alerts of one rule family (source and rule id) within this window of the last
    # one join its incident instead of opening their own (a burst: one incident, one page).
    ALERT_BURST_WINDOW_MINUTES = int(os.environ.get("ALERT_BURST_WINDOW_MINUTES", 30))
    # New monitoring incidents per organization per hour; beyond it one storm notice.
    ALERT_INCIDENTS_PER_HOUR = int(os.environ.get("ALERT_INCIDENTS_PER_HOUR", 10))
    EVIDENCE_DIR = os.environ.get("EVIDENCE_DIR", str(BASE_DIR / "instance" / "evidence"))
    REPORTS_DIR = os.environ.get("REPORTS_DIR", str(BASE_DIR / "instance" / "reports"))
    # SLA clocks: business-hours targets count only these hours (JST) of business days
    # (app/domain/bizcal.py); a running clock is "near" its breach after this share of its target.
    BUSINESS_HOURS = os.environ.get("BUSINESS_HOURS", "09:00-18:00")
    SLA_WARN_FRACTION = float(os.environ.get("SLA_WARN_FRACTION", 0.8))
    # Largest request body accepted anywhere (API and forms); larger is a 413.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 1024 * 1024))
    BABEL_DEFAULT_LOCALE = "ja"
    BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = ("ja", "en")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Served over HTTPS: cookies only over HTTPS, HSTS, and no start with DEV_SECRET_KEY.
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # A login lasts at most SESSION_ABSOLUTE_HOURS, and ends after SESSION_IDLE_MINUTES
    # without a request (app/auth.py): a desk PC left logged in is not open for a month.
    # No cookie (session, remember) is accepted for longer than the absolute lifetime.
    SESSION_ABSOLUTE_HOURS = float(os.environ.get("SESSION_ABSOLUTE_HOURS", 12))
    SESSION_IDLE_MINUTES = float(os.environ.get("SESSION_IDLE_MINUTES", 120))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=SESSION_ABSOLUTE_HOURS)
    REMEMBER_COOKIE_DURATION = timedelta(hours=SESSION_ABSOLUTE_HOURS)
    HSTS_MAX_AGE_SECONDS = int(os.environ.get("HSTS_MAX_AGE_SECONDS", 365 * 24 * 3600))
    # Behind a reverse proxy: how many proxies set X-Forwarded-For / -Proto (werkzeug
    # ProxyFix). 0 trusts neither header, so a client cannot pick the IP it is limited by.
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", 0))
    PROXY_FIX_X_PROTO = int(os.environ.get("PROXY_FIX_X_PROTO", 0))
    # Rate limits (Flask-Limiter; docs/security.md). The counters live in this storage:
    # memory:// counts per process, so with several gunicorn workers use redis://host:6379.
    RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") == "1"
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_LOGIN_PER_IP = os.environ.get("RATELIMIT_LOGIN_PER_IP", "10/minute;50/hour")
    # Refused logins of one account from one client, with back-off: 5 tries, a minute's
    # wait; 3 more, the rest of 10 minutes; 2 more, the rest of the hour; then of the day.
    # Per client, so a stranger cannot lock the account's owner out from elsewhere.
    RATELIMIT_LOGIN_PER_ACCOUNT = os.environ.get(
        "RATELIMIT_LOGIN_PER_ACCOUNT", "5/minute;8/10 minutes;10/hour;20/day")
    RATELIMIT_REPORT_PER_IP = os.environ.get("RATELIMIT_REPORT_PER_IP", "5/minute;30/hour")
    RATELIMIT_API_INTAKE_PER_TOKEN = os.environ.get("RATELIMIT_API_INTAKE_PER_TOKEN",
                                                    "120/minute")
    WTF_CSRF_TIME_LIMIT = None
    API_PAGE_SIZE_MAX = 200


class ProductionConfig(Config):
    """KAKETSUKE_ENV=production: HTTPS only, whatever SESSION_COOKIE_SECURE says."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


def config_for_environment():
    """The settings class the environment asks for (KAKETSUKE_ENV=production or not)."""
    return ProductionConfig if os.environ.get("KAKETSUKE_ENV") == "production" else Config


def refuse_insecure_secret_key(config):
    """Over HTTPS (production) the development SECRET_KEY, or a short one, stops the start:
    anyone knowing it could forge sessions and CSRF tokens."""
    if not config["SESSION_COOKIE_SECURE"]:
        return
    key = config.get("SECRET_KEY") or ""
    if key == DEV_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
        raise RuntimeError(
            f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} "
            "characters when cookies are Secure (production); see README.md.")


class TestConfig(Config):
    """Settings for the test suite: database from TEST_DATABASE_URL, no secrets."""

    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = normalize_database_url(
        os.environ.get("TEST_DATABASE_URL", "sqlite://")
    )
    PUBLIC_BASE_URL = "http://kaketsuke.test"
    # Real hashes take ~50 ms each by design; tests make hundreds of users.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # Off for the suite (no test trips over another's counts); tests/web/pages/test_rate_limits.py
    # builds an app with them on.
    RATELIMIT_ENABLED = False
