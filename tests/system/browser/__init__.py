"""Chromium driven through Playwright against a live server."""
