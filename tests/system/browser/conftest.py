"""Browser fixtures: the session app served over HTTP, and Chromium driven by Playwright.

The live server runs the same `app` object as the rest of the suite (tests/conftest.py)
in a background thread, so it uses whichever database the session uses (a SQLite file
or TEST_DATABASE_URL) and sees the rows the tests make; `fresh_database` empties it
before each test as usual.

Without Debian's chromium or the playwright package the browser tests are skipped with
the reason shown in the summary, except in CI (CI=true), where that is a failure.
"""

import os
import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from tests.scenes.tools import unavailable

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING_CHROMIUM = ("Chromium not found at /usr/bin/chromium: install the Debian package "
                    "chromium to run browser tests")
MISSING_PLAYWRIGHT = ("playwright is not importable: install the pip package playwright "
                      "(never `playwright install`; the Debian chromium is used) to run "
                      "browser tests")
# Playwright's default is 30 s; a local page that takes 10 s is a failure worth seeing.
TIMEOUT_MS = 10_000


def _unavailable_reason():
    if sync_playwright is None:
        return MISSING_PLAYWRIGHT
    if not os.path.exists(CHROMIUM):
        return MISSING_CHROMIUM
    return None


@pytest.fixture(scope="session")
def live_server(app):
    """The session app served on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the live server thread did not stop"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, for the whole session (skipped or failed if missing)."""
    reason = _unavailable_reason()
    if reason:
        unavailable("browser tests", reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        yield chromium
        chromium.close()


@contextmanager
def watched_tab(browser, live_server, **options):
    """A fresh context (no cookies), in Japanese and Japan time, at the live server.

    Any 5xx answer or uncaught JavaScript error while it is open fails the test at the
    end: a server error in the live-server thread would otherwise only be logged.
    """
    context = browser.new_context(base_url=live_server, locale="ja-JP",
                                  timezone_id="Asia/Tokyo", **options)
    context.set_default_timeout(TIMEOUT_MS)
    problems = []
    tab = context.new_page()
    tab.on("response", lambda r: r.status >= 500 and problems.append(
        f"HTTP {r.status} for {r.request.method} {r.url}"))
    tab.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    try:
        yield tab
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def page(browser, live_server):
    """A desk-sized tab per test."""
    with watched_tab(browser, live_server) as tab:
        yield tab
