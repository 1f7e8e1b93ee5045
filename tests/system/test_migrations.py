"""Migrations build the real schema: upgrade matches the models, downgrade removes it all.

Runs against the suite's own database kind: a fresh SQLite file, or a scratch
PostgreSQL database next to TEST_DATABASE_URL's.
"""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, make_url, text

from app import create_app
from app.config import TestConfig, normalize_database_url
from app.extensions import db


@pytest.fixture
def scratch_url(tmp_path):
    """An empty database of the suite's kind, dropped afterwards."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    server = make_url(normalize_database_url(url))
    scratch = f"{server.database}_migrations"  # beside the suite's own, so runs don't collide
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    yield server.set(database=scratch).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_builds_the_models_schema_and_downgrade_removes_it(scratch_url):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=scratch_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        tables = set(inspect(db.engine).get_table_names())
        assert {"incident", "incident_event", "user", "organization"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()  # and back up again: downgrade left nothing behind that blocks it
        db.session.remove()
        db.engine.dispose()
