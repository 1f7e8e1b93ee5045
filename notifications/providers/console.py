"""The development provider: nothing leaves the machine.

A message is simply recorded as sent; the development "phone" page lists the
outbox rows whose provider is `console`, with their links.
"""


class ConsoleProvider:
    """Accepts every message at once; its id is `console-<outbox row id>`."""

    name = "console"

    def send_sms(self, to, body, status_callback, *, reference=""):
        """Record an SMS as sent."""
        return self._id(reference)

    def place_call(self, to, twiml_url, status_callback, *, reference=""):
        """Record a call as placed."""
        return self._id(reference)

    def send_email(self, to, subject, body, *, reference="", headers=None):
        """Record an e-mail as sent."""
        return self._id(reference)

    @staticmethod
    def _id(reference):
        return f"console-{reference}"
