"""Shared fixtures: one app per session, a fresh (emptied) database for every test.

The database is SQLite in a temporary file by default, or TEST_DATABASE_URL
(PostgreSQL in CI). Tests never hold an app context open around test-client
requests: the request's language would leak between them.
"""

import os
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from app import create_app
from app.config import TestConfig, normalize_database_url
from app.extensions import db
from app.testkit import factories
from scripts.compile_translations import compile_all

# Scenes used by tests of several kinds (services, pages, the CLI): their fixtures for all.
pytest_plugins = ("tests.scenes.notifications", "tests.scenes.report_fixtures")


def _test_key():
    """A fresh Ed25519 private key for the session, base64 of its raw bytes."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption())
    return base64.b64encode(raw).decode()


def _database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalize_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The application under test, its schema created once."""
    compile_all()  # .mo files are build output, not in git
    application = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=_database_url(tmp_path_factory),
        # Files and keys of the suite stay in its temporary folders, never in instance/.
        EVIDENCE_DIR=str(tmp_path_factory.mktemp("evidence")), CLAIM_SIGNING_KEY=_test_key(),
        REPORTS_DIR=str(tmp_path_factory.mktemp("reports")))
    with application.app_context():
        db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def empty_database():
    """Delete every row and restart ids, so each test starts from nothing."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        _empty_postgresql(tables)
    else:
        for name in tables:
            db.session.execute(text(f'DELETE FROM "{name}"'))
    db.session.commit()


def _empty_postgresql(tables):
    """DELETE and setval in one round trip: TRUNCATE costs ~75 ms a test, this ~2 ms.

    TRUNCATE makes new files for every table and index; the tables of one test
    hold a handful of rows, so deleting them is far cheaper.
    """
    sequences = db.session.execute(text(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences"
        " WHERE schemaname = current_schema()")).scalars()
    statements = [f'DELETE FROM "{name}"' for name in tables]
    statements += [f"SELECT setval('{name}', 1, false)" for name in sequences]
    # Several statements in one call need the driver's simple query protocol.
    db.session.connection().connection.driver_connection.execute("; ".join(statements))


@pytest.fixture(autouse=True)
def fresh_database(app):
    """Every test gets an empty database."""
    with app.app_context():
        empty_database()
        db.session.remove()
    yield


@pytest.fixture
def ctx(app):
    """An app context for service-level tests (not around test-client requests)."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def dialect(app):
    with app.app_context():
        return db.engine.dialect.name


@pytest.fixture
def world(app):
    """Two SMEs (A covered, B not), technicians, one user per role, and their API tokens."""
    with app.app_context():
        w = factories.make_world()
        db.session.remove()
    return SimpleNamespace(**w)


class ApiClient:
    """A test client speaking JSON with a bearer token."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, **kwargs):
        return self.client.get(path, headers=self._headers(), **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.client.post(path, json=json, headers=self._headers(), **kwargs)


@pytest.fixture
def api(client, world):
    """api(role) gives a JSON client acting as that role's user."""
    return lambda role: ApiClient(client, world.tokens[role] if role else None)


@pytest.fixture
def login(client):
    """login(email) logs the test client in through the login form."""
    def do_login(email, password=factories.PASSWORD):
        from app.testkit.helpers import csrf_token
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"email": email, "password": password,
                                               "csrf_token": token})
        assert response.status_code == 302, response.text
        return client
    return do_login
