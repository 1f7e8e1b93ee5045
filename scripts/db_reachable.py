"""Exit 0 when the database at the URL answers, 1 with the reason when it does not.

Used by `make test` to decide whether the PostgreSQL pass of the suite can run.
"""

import sys

from sqlalchemy import create_engine, text

from app.config import normalize_database_url


def main(url):
    engine = create_engine(normalize_database_url(url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not reachable"; say which
        print(f"{type(exc).__name__}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
