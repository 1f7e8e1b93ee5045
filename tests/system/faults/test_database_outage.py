"""The database goes away: clean 503s in the one error shape, nothing changed, and the same
app answers again once the database is back (pool_pre_ping), without a restart."""

import socket

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Incident
from app.testkit.helpers import csrf_token
from app.testkit.tcp_proxy import TcpProxy
from tests.web.api.test_incidents_api import assert_error, new_incident


def _closed_port():
    """A local port nobody listens on (connections to it are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _app_on(app, url):
    """Another instance of the app (same secrets and folders) on the database at `url`."""
    keep = ("SECRET_KEY", "EVIDENCE_DIR", "REPORTS_DIR", "CLAIM_SIGNING_KEY")
    other = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url,
                       **{key: app.config[key] for key in keep})
    return other


@pytest.fixture
def unreachable(app):
    """The app with its PostgreSQL server gone: nothing listens at the database's address."""
    other = _app_on(app, f"postgresql+psycopg://kaketsuke@127.0.0.1:{_closed_port()}/gone")
    yield other
    with other.app_context():
        db.engine.dispose()


def _incidents(app):
    with app.app_context():
        count = db.session.scalar(select(func.count(Incident.id)))
        db.session.remove()
    return count


def test_an_api_request_while_the_database_is_down_is_a_clean_503(unreachable):
    response = unreachable.test_client().post(
        "/api/v1/incidents", json={"organization_id": 1, "channel": "phone"},
        headers={"Authorization": "Bearer some-token"})
    assert_error(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "5"
    assert "SELECT" not in response.text  # no SQL, no driver text leaks out
    assert "127.0.0.1" not in response.text


def test_a_page_while_the_database_is_down_says_so_with_a_503(unreachable):
    client = unreachable.test_client()
    token = csrf_token(client, "/login?lang=en")  # the form itself needs no database
    response = client.post("/login?lang=en", data={
        "email": "desk@example.jp", "password": "x", "csrf_token": token})
    assert response.status_code == 503
    assert "The service is briefly unavailable" in response.text
    assert "<h1>503</h1>" in response.text


def test_a_signed_in_page_whose_user_cannot_be_loaded_still_answers_503(unreachable):
    client = unreachable.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"  # the user loader (and the page's header) need the database
    response = client.get("/desk/?lang=en")
    assert response.status_code == 503
    assert "briefly unavailable" in response.text


def test_a_bug_in_sql_is_still_a_500_not_a_503(app, client, world, monkeypatch):
    from sqlalchemy.exc import ProgrammingError

    def broken(*_args, **_kwargs):
        raise ProgrammingError("SELECT nonsense", {}, Exception("syntax error"))

    monkeypatch.setattr("app.api.incidents.report_incident", broken)
    response = client.post("/api/v1/incidents", json=new_incident(world),
                           headers={"Authorization": f"Bearer {world.tokens['desk']}"})
    assert_error(response, 500, "internal_error")


@pytest.mark.postgres
def test_the_app_answers_503_while_postgresql_is_away_and_recovers_by_itself(
        app, world, dialect):
    if dialect != "postgresql":
        pytest.skip("the outage is of a PostgreSQL server (a relay in front of it is cut)")
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    relayed = _app_on(app, url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False))
    client = relayed.test_client()
    headers = {"Authorization": f"Bearer {world.tokens['desk']}"}

    def intake():
        return client.post("/api/v1/incidents", json=new_incident(world), headers=headers)

    try:
        assert intake().status_code == 201  # the pool now holds a live connection
        before = _incidents(app)
        proxy.cut()
        during = [intake() for _ in range(3)]
        for response in during:
            assert_error(response, 503, "service_unavailable")
        assert _incidents(app) == before  # nothing half-written
        proxy.restore()
        after = intake()
        assert after.status_code == 201, after.text  # the same app, no restart
        assert _incidents(app) == before + 1
    finally:
        proxy.stop()
        with relayed.app_context():
            db.engine.dispose()
