"""Rate limits: login (per IP, and per account and client), the public report form, API intake.

The suite runs with RATELIMIT_ENABLED off; these tests build a second app on the same
database with it on, and freeze the limiter's clock so a window passes without waiting.
Client IPs are set in the WSGI environ (documentation addresses, RFC 5737).
"""

from contextlib import contextmanager

import limits.storage.memory
import limits.strategies
import pytest

import app.web.errors
from app import create_app
from app.config import TestConfig
from app.extensions import db, limiter
from app.testkit import factories
from app.testkit.helpers import csrf_token, row_counts
from tests.web.api.test_incidents_api import assert_error, new_incident

IP_A, IP_B, PROXY = "192.0.2.10", "198.51.100.20", "203.0.113.1"
# What a second app must share with the suite's app: its database and its files.
SHARED_SETTINGS = ("SQLALCHEMY_DATABASE_URI", "EVIDENCE_DIR", "CLAIM_SIGNING_KEY", "REPORTS_DIR")


@contextmanager
def another_app(suite_app, config_class=TestConfig, **overrides):
    """An app built with other settings on the suite's database (engine closed after)."""
    shared = {name: suite_app.config[name] for name in SHARED_SETTINGS}
    application = create_app(config_class, **(shared | overrides))
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


class FrozenClock:
    """Stands in for the `time` module where the limiter and the 429 handler read the time."""

    def __init__(self, now=1_900_000_000.0):
        self.now = now

    def time(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    frozen = FrozenClock()
    for module in (limits.storage.memory, limits.strategies, app.web.errors):
        monkeypatch.setattr(module, "time", frozen)
    return frozen


@pytest.fixture
def limited(app, clock):
    """limited(**settings) -> a test client of an app with rate limits on."""
    with_limits = []

    def build(**overrides):
        context = another_app(app, RATELIMIT_ENABLED=True, **overrides)
        with_limits.append(context)
        return context.__enter__().test_client()

    yield build
    for context in with_limits:
        context.__exit__(None, None, None)


def log_in(client, email, password="wrong guess", ip=IP_A, headers=None):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token},
                       environ_base={"REMOTE_ADDR": ip}, headers=headers or {})


def fail_logins(client, count, ip=IP_A, headers=None):
    """`count` wrong logins with unknown e-mails (so only the IP's limit counts them)."""
    for n in range(count):
        assert log_in(client, f"nobody{n}@example.jp", ip=ip, headers=headers).status_code == 401


def assert_rate_limited_page(response, longest_wait):
    assert response.status_code == 429
    assert response.content_type.startswith("text/html")
    assert '<html lang="ja">' in response.text and "<h1>429</h1>" in response.text
    assert 1 <= int(response.headers["Retry-After"]) <= longest_wait


def test_the_eleventh_login_attempt_from_one_ip_in_a_minute_is_refused_with_a_page(
        limited, world):
    client = limited()
    fail_logins(client, 10)
    refused = log_in(client, world.emails["desk"], factories.PASSWORD)
    assert_rate_limited_page(refused, 61)
    assert client.get("/desk/").status_code == 302  # the right password did not log in


def test_a_successful_login_is_not_blocked_by_another_ips_failures(limited, world):
    client = limited()
    fail_logins(client, 10, ip=IP_A)
    assert log_in(client, "nobody@example.jp", ip=IP_A).status_code == 429
    assert log_in(client, world.emails["desk"], factories.PASSWORD, ip=IP_B).status_code == 302


def test_a_stranger_locked_out_of_an_account_does_not_lock_its_owner_out(
        limited, world, clock):
    client = limited()
    desk = world.emails["desk"]
    for _n in range(5):
        assert log_in(client, desk, ip=IP_A).status_code == 401
    assert_rate_limited_page(log_in(client, desk.upper(), factories.PASSWORD, ip=IP_A), 61)
    assert log_in(client, desk, factories.PASSWORD, ip=IP_B).status_code == 302
    assert log_in(client, world.emails["admin"], factories.PASSWORD, ip=IP_A).status_code \
        == 302  # the stranger's IP is still let in under its own limit
    clock.advance(61)
    assert log_in(client, desk, factories.PASSWORD, ip=IP_A).status_code == 302


def test_the_wait_of_an_account_and_client_grows_with_each_round_of_refusals(
        limited, world, clock):
    client = limited()
    desk = world.emails["desk"]
    waits = []
    for pause, tries in ((0, 5), (61, 3), (600, 2)):  # fewer tries, longer waits
        clock.advance(pause)
        for _n in range(tries):
            assert log_in(client, desk, ip=IP_A).status_code == 401
        refused = log_in(client, desk, factories.PASSWORD, ip=IP_A)
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
    assert waits[0] <= 61, waits
    assert 480 < waits[1] <= 600, waits
    assert 2400 < waits[2] <= 3600, waits
    assert log_in(client, desk, factories.PASSWORD, ip=IP_B).status_code == 302


def test_successful_logins_do_not_count_against_the_email(limited, world):
    client = limited()
    for n in range(7):
        response = log_in(client, world.emails["desk"], factories.PASSWORD, ip=f"192.0.2.{n}")
        assert response.status_code == 302


def test_the_login_limits_reset_after_their_window(limited, clock):
    client = limited()
    for _minute in range(5):  # 10 a minute, 50 an hour
        fail_logins(client, 10)
        assert log_in(client, "nobody@example.jp").status_code == 429
        clock.advance(61)
    hour_limit = log_in(client, "nobody@example.jp")
    assert_rate_limited_page(hour_limit, 3600)
    assert int(hour_limit.headers["Retry-After"]) > 3600 - 5 * 61 - 5
    clock.advance(3600)
    assert log_in(client, "nobody@example.jp").status_code == 401


def test_the_public_form_takes_five_reports_a_minute_from_one_ip(app, limited, world, clock):
    from tests.web.pages.test_pages import org_code, report_form
    client = limited()
    token = csrf_token(client, "/report")
    form = report_form(token, customer=org_code(app, world))
    for _n in range(5):
        assert client.post("/report", data=form, environ_base={"REMOTE_ADDR": IP_A}) \
            .status_code == 200
    before = row_counts(app)
    refused = client.post("/report", data=form, environ_base={"REMOTE_ADDR": IP_A})
    assert_rate_limited_page(refused, 61)
    assert row_counts(app) == before
    assert client.get("/report", environ_base={"REMOTE_ADDR": IP_A}).status_code == 200
    assert client.post("/report", data=form, environ_base={"REMOTE_ADDR": IP_B}) \
        .status_code == 200
    clock.advance(61)
    assert client.post("/report", data=form, environ_base={"REMOTE_ADDR": IP_A}) \
        .status_code == 200


def intake(client, token, world):
    return client.post("/api/v1/incidents", json=new_incident(world),
                       headers={"Authorization": f"Bearer {token}"})


def test_api_intake_is_limited_per_token_with_the_error_shape(app, limited, world, clock):
    client = limited(RATELIMIT_API_INTAKE_PER_TOKEN="3/minute")
    desk, admin = world.tokens["desk"], world.tokens["admin"]
    for _n in range(3):
        assert intake(client, desk, world).status_code == 201
    before = row_counts(app)
    refused = intake(client, desk, world)
    assert_error(refused, 429, "rate_limited")
    assert refused.json["error"]["details"] == {"limit": "3 per 1 minute", "retry_after": 61}
    assert refused.headers["Retry-After"] == "61"
    assert row_counts(app) == before
    assert intake(client, admin, world).status_code == 201  # another token, its own count
    listing = client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {desk}"})
    assert listing.status_code == 200  # reading is not limited
    clock.advance(30)
    assert intake(client, desk, world).headers["Retry-After"] == "31"
    clock.advance(31)
    assert intake(client, desk, world).status_code == 201


def test_the_api_intake_limit_is_120_a_minute_by_default(app):
    assert app.config["RATELIMIT_API_INTAKE_PER_TOKEN"] == "120/minute"
    assert app.config["RATELIMIT_LOGIN_PER_IP"] == "10/minute;50/hour"
    assert app.config["RATELIMIT_LOGIN_PER_ACCOUNT"] == "5/minute;8/10 minutes;10/hour;20/day"
    assert app.config["RATELIMIT_REPORT_PER_IP"] == "5/minute;30/hour"


def test_webhooks_and_alert_ingest_are_exempt_even_from_a_default_limit(limited, monkeypatch):
    # Flask-Limiter keeps a default limit on the (one) limiter: give it back empty after.
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", [])
    client = limited(RATELIMIT_DEFAULT="2/minute")
    statuses = [client.get("/lang/ja").status_code for _n in range(3)]
    assert statuses == [302, 302, 429]  # the default limit is on for ordinary pages
    for _n in range(5):
        assert client.post("/webhooks/twilio/status/sms", data={}).status_code == 403
        alert = client.post("/api/v1/alerts", data="{}", content_type="application/json")
        assert alert.status_code == 401


def test_a_forwarded_for_header_is_ignored_unless_a_proxy_is_configured(limited):
    client = limited()
    for n in range(10):
        spoofed = {"X-Forwarded-For": f"192.0.2.{n}"}
        assert log_in(client, f"nobody{n}@example.jp", headers=spoofed).status_code == 401
    assert log_in(client, "x@example.jp", headers={"X-Forwarded-For": IP_B}).status_code == 429


def test_behind_one_proxy_each_forwarded_client_has_its_own_count(limited, world):
    client = limited(PROXY_FIX_X_FOR=1)
    fail_logins(client, 10, ip=PROXY, headers={"X-Forwarded-For": IP_A})
    assert log_in(client, "x@example.jp", ip=PROXY,
                  headers={"X-Forwarded-For": IP_A}).status_code == 429
    assert log_in(client, world.emails["desk"], factories.PASSWORD, ip=PROXY,
                  headers={"X-Forwarded-For": IP_B}).status_code == 302


def test_the_suite_app_has_limits_off_even_after_an_app_with_them_on(client, limited):
    limited()  # Flask-Limiter's on/off switch is shared: the app's setting must still win
    for n in range(15):
        assert log_in(client, f"nobody{n}@example.jp").status_code == 401


def test_refused_reports_count_against_the_public_form_limit(app, limited, world, clock):
    """A post the form refuses (an unknown contract, a missing field, hostile text) still
    spends one of the five: otherwise the limit would not slow down guessing contracts."""
    from tests.web.pages.test_pages import report_form
    client = limited()
    token = csrf_token(client, "/report")
    bad_forms = [report_form(token, customer="NO-SUCH-CODE"), report_form(token, category=""),
                 report_form(token, description="a\x00b"), report_form(token, customer="X"),
                 report_form(token, customer="NO-SUCH-CODE")]
    for form in bad_forms:
        assert client.post("/report", data=form, environ_base={"REMOTE_ADDR": IP_A}) \
            .status_code == 400
    before = row_counts(app)
    assert_rate_limited_page(client.post("/report", data=bad_forms[0],
                                         environ_base={"REMOTE_ADDR": IP_A}), 61)
    assert row_counts(app) == before


def test_refused_api_intakes_count_against_the_token_limit(app, limited, world, clock):
    """A body the API refuses (a missing field, a bad value, hostile text, deep JSON) spends
    one of the token's intakes too."""
    client = limited(RATELIMIT_API_INTAKE_PER_TOKEN="4/minute")
    desk = {"Authorization": f"Bearer {world.tokens['desk']}"}
    bodies = [{"summary": "x"}, new_incident(world, channel="fax"),
              new_incident(world, summary="a\x00"), "[" * 100 + "]" * 100]
    for body in bodies:
        data = body if isinstance(body, str) else None
        response = client.post("/api/v1/incidents", headers=desk, data=data,
                               json=None if data else body, content_type="application/json")
        assert response.status_code == 422, response.text
    before = row_counts(app)
    assert_error(intake(client, world.tokens["desk"], world), 429, "rate_limited")
    assert row_counts(app) == before
