"""Use cases on a real database (SQLite, PostgreSQL in CI), one folder per bounded context."""
