"""Who carries a message out: the console (development) or Twilio, SMTP for e-mail, webhooks.

A phone provider (console, twilio) has the first two methods, a mail provider
(console, smtp) the third, the webhook provider the fourth; each returns the
provider's id for the message and raises DeliveryError when it could not hand the
message over:

    send_sms(to, body, status_callback, *, reference="") -> str
    place_call(to, twiml_url, status_callback, *, reference="") -> str
    send_email(to, subject, body, *, reference="") -> str
    post(url, event, signature, body, *, reference="") -> str

`reference` is the outbox row's id: the console's message id is built from it, and
the SMTP provider puts it into the Message-ID.
"""

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


def get_provider(config):
    """Build the providers from the app's config (NOTIFY_PROVIDER, TWILIO_*, SMTP_*)."""
    from notifications.providers.console import ConsoleProvider
    from notifications.providers.smtp import SmtpProvider
    from notifications.providers.twilio import TwilioProvider
    from notifications.providers.webhook import WebhookProvider

    name = config.get("NOTIFY_PROVIDER", "console")
    mail = SmtpProvider(config) if config.get("SMTP_HOST") else None
    if name == "console":
        console = ConsoleProvider()
        return Providers(phone=console, mail=mail or console, webhook=WebhookProvider(config))
    if name == "twilio":
        if mail is None:
            raise ProviderConfigError("NOTIFY_PROVIDER=twilio needs SMTP_HOST for e-mail "
                                      "(dispatcher pages and customer messages).")
        return Providers(phone=TwilioProvider(config), mail=mail,
                         webhook=WebhookProvider(config))
    raise ProviderConfigError(f"Unknown NOTIFY_PROVIDER {name!r}; use console or twilio.")


__all__ = ["DeliveryError", "ProviderConfigError", "Providers", "get_provider"]
