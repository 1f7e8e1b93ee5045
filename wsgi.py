"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import gc

from app import create_app

app = create_app()
# The app, its routes, templates and catalogs live as long as the process: moved out of
# the collector's reach, full collections stop walking them on every request burst
# (measured at 1,000,000 incidents: board p99 136 ms -> 56 ms, docs/benchmarks.md).
gc.freeze()
