"""Steps several browser tests share."""

import re

from app.testkit import factories

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None


def log_in(page, email):
    """Log in as a staff user from the login page; expect the desk list."""
    page.goto("/login")
    page.locator("#login-form #email").fill(email)
    page.locator("#login-form #password").fill(factories.PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/desk/$"))
