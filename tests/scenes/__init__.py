"""Scenes shared by tests of several kinds, with their fixtures (registered in
tests/conftest.py)."""
