"""Who carries a message out: the console (development) or Twilio, SMTP for e-mail, webhooks.

A phone provider (console, twilio) has the first two methods, a mail provider
(console, smtp) the third, the webhook provider the fourth; each returns the
provider's id for the message and raises DeliveryError when it could not hand the
message over:

    send_sms(to, body, status_callback, *, reference="") -> str
    place_call(to, twiml_url, status_callback, *, reference="") -> str
    send_email(to, subject, body, *, reference="", headers=None) -> str
    post(url, event, signature, body, *, reference="") -> str

`reference` is the outbox row's id: the console's message id is built from it, and
the SMTP provider puts it into the Message-ID.
"""

from notifications.providers.base import DeliveryError, ProviderConfigError, Providers
from notifications.providers.console import ConsoleProvider
from notifications.providers.smtp import SmtpProvider
from notifications.providers.twilio import TwilioProvider
from notifications.providers.webhook import WebhookProvider


def get_provider(config):
    """Build the providers from the app's config (NOTIFY_PROVIDER, TWILIO_*, SMTP_*)."""
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
