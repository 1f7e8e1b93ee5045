"""The desk's mailbox in tests: a real Dovecot for the session, a fresh mailbox per test.

Without Dovecot the tests using it are skipped with the reason shown in the summary,
except in CI (CI=true), where that is a failure (as for Chromium).
"""

import shutil
import tempfile

import pytest

from app.testkit.dovecot import Dovecot, available
from tests.scenes.tools import unavailable


@pytest.fixture(scope="session")
def dovecot():
    reason = available()
    if reason:
        unavailable("the mail tests", reason)
    # Not under pytest's own temporary folder: that is private to the user running the
    # tests, and Dovecot's mail processes run as another user when the tests run as root.
    folder = tempfile.mkdtemp(prefix="kk-dovecot-")
    server = Dovecot(folder).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot):
    """A mailbox no other test has used (a new user on the session's server)."""
    return dovecot.new_mailbox()
