"""What the fault scripts share: their scratch database, the machine they ran on."""

import os
import platform
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from app.config import normalize_database_url

SCRATCH_WORD = "faults"  # a scratch database's name must contain it: it is dropped


def scratch_url(url):
    """The SQLAlchemy URL of a scratch database; refuses a name without 'faults' in it."""
    parsed = make_url(normalize_database_url(url))
    if SCRATCH_WORD not in (parsed.database or ""):
        raise SystemExit(f"refusing to use {parsed.database!r}: the name must contain "
                         f"{SCRATCH_WORD!r} (the database is dropped and recreated)")
    return parsed


def _on_server(url, *statements):
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def _quoted(name):
    return '"' + name.replace('"', '""') + '"'


def recreate_database(url):
    """DROP (forcing other sessions off) and CREATE the scratch database `url`."""
    name = _quoted(url.database)
    _on_server(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")


def drop_database(url):
    _on_server(url, f"DROP DATABASE IF EXISTS {_quoted(url.database)} WITH (FORCE)")


def plain_url(url):
    """The URL as a string with its password, for DATABASE_URL of child processes."""
    return url.render_as_string(hide_password=False)


def migrate(app):
    """The schema by the app's migrations, as `flask db upgrade` builds it in production."""
    import flask_migrate

    with app.app_context():
        flask_migrate.upgrade()


def machine(postgresql_version=""):
    """Where the numbers come from: cores, memory, CPU, PostgreSQL, Python, local date."""
    meminfo = Path("/proc/meminfo").read_text().split()
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                  if line.startswith("model name")), platform.processor())
    return {"cores": os.cpu_count(), "ram_gib": round(int(meminfo[1]) / 1024 / 1024, 1),
            "cpu": model, "postgresql": postgresql_version,
            "python": platform.python_version(),
            "date": datetime.now().astimezone().isoformat(timespec="seconds")}
