"""Notifications: the transactional outbox, the worker that drains it, and the providers.

A message is a `Notification` row written in the same commit as the change that
causes it (`outbox.enqueue`); `flask --app wsgi worker` sends it after commit through
a provider (console or Twilio for SMS and voice, SMTP for e-mail), retries with
backoff, and gives up into a visible `failed` state that pages the dispatcher.
"""
