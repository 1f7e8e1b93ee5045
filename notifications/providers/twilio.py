"""SMS and voice calls through the real Twilio SDK.

The HTTP client sets a timeout (the SDK has none by default) and, when
TWILIO_BASE_URL is set, sends every request for a *.twilio.com host there instead:
the test suite points the real client at a local fake Twilio server this way.
"""

from contextlib import contextmanager
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from notifications.providers.base import DeliveryError, ProviderConfigError

REQUIRED = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
# Call progress events Twilio reports to the voice status callback.
CALL_EVENTS = ["answered", "completed"]
# Statuses worth another try: rate limited, request timeout, and the server's own errors.
RETRYABLE_STATUSES = (408, 429)


class RedirectingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client with a timeout, optionally aimed at another base URL."""

    def __init__(self, timeout, base_url=""):
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def rewrite(self, url):
        """The URL the request really goes to."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not self.base_url or not (host == "twilio.com" or host.endswith(".twilio.com")):
            return url
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")

    def request(self, method, url, *args, **kwargs):
        """Send the SDK's request to the rewritten URL."""
        return super().request(method, self.rewrite(url), *args, **kwargs)


class TwilioProvider:
    """Sends SMS from TWILIO_FROM_NUMBER and places calls that fetch TwiML from us."""

    name = "twilio"

    def __init__(self, config):
        missing = [key for key in REQUIRED if not config.get(key)]
        if missing:
            raise ProviderConfigError(f"NOTIFY_PROVIDER=twilio needs {', '.join(missing)}.")
        self.from_number = config["TWILIO_FROM_NUMBER"]
        http_client = RedirectingHttpClient(float(config.get("TWILIO_TIMEOUT_SECONDS") or 10),
                                            config.get("TWILIO_BASE_URL", ""))
        self.client = Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
                             http_client=http_client)

    def send_sms(self, to, body, status_callback, *, reference=""):
        """Create a Message; its SID (SM...) is the provider id."""
        with _classified():
            message = self.client.messages.create(
                to=to, from_=self.from_number, body=body, status_callback=status_callback)
        return message.sid

    def place_call(self, to, twiml_url, status_callback, *, reference=""):
        """Create a Call that fetches its TwiML from `twiml_url`; its SID (CA...) is the id."""
        with _classified():
            call = self.client.calls.create(
                to=to, from_=self.from_number, url=twiml_url, method="POST",
                status_callback=status_callback, status_callback_method="POST",
                status_callback_event=CALL_EVENTS)
        return call.sid


@contextmanager
def _classified():
    """Turn the SDK's and the HTTP library's errors into DeliveryError."""
    try:
        yield
    except TwilioRestException as exc:
        permanent = exc.status < 500 and exc.status not in RETRYABLE_STATUSES
        raise DeliveryError(f"Twilio HTTP {exc.status} code {exc.code}: {exc.msg}"[:400],
                            permanent=permanent) from exc
    except requests.RequestException as exc:
        raise DeliveryError(f"Twilio unreachable: {type(exc).__name__}",
                            permanent=False) from exc
    except TwilioException as exc:
        raise DeliveryError(f"Twilio: {exc}"[:400], permanent=True) from exc
