"""Tests that need a real program (Chromium, Dovecot, logger, rsyslogd) and do not find it."""

import os

import pytest


def unavailable(what, reason):
    """Skip, with the reason shown in the summary; in CI (CI=true), where .ci/run installs
    every such program, fail instead, so a missing install step cannot pass as green."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {what} cannot run. {reason}", pytrace=False)
    pytest.skip(reason)
