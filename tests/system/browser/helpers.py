"""Steps several browser tests share."""

import re

from app.testkit import factories

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None


# Each role's start page after login (app/web/public/views.py START_PAGES).
LANDING = r"/(desk|dispatch|tech|insurer)/$|/report$"


def log_in(page, email, landing=LANDING):
    """Log in from the login page; expect the role's start page (`landing`, a pattern)."""
    page.goto("/login")
    page.locator("#login-form #email").fill(email)
    page.locator("#login-form #password").fill(factories.PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(landing))
