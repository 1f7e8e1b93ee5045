"""What every provider shares: how a failed hand-over is reported, and the set of providers
the worker sends through."""

from dataclasses import dataclass


class DeliveryError(Exception):
    """A message was not handed over; `permanent` says whether a retry could ever help."""

    def __init__(self, message, *, permanent):
        super().__init__(message)
        self.permanent = permanent


class ProviderConfigError(Exception):
    """The provider settings are incomplete or unknown (raised when the worker starts)."""


@dataclass(frozen=True)
class Providers:
    """The provider for phone messages (SMS, voice), the one for e-mail, and webhooks."""

    phone: object
    mail: object
    webhook: object = None

    def for_channel(self, channel):
        """The provider that carries `channel` (sms, voice, email or webhook)."""
        if channel == "webhook":
            return self.webhook
        return self.mail if channel == "email" else self.phone
