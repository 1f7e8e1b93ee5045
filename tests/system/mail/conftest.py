from tests.scenes.mailbox import dovecot, mailbox  # noqa: F401  (fixtures for these tests)
