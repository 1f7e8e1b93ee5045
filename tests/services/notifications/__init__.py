"""The outbox worker and the insurers' webhooks."""
