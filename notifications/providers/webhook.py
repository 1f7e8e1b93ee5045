"""Signed outbound webhooks: an HTTP POST of the outbox row's JSON body to the insurer.

The signature is HMAC-SHA256 of the exact body bytes with the insurer's webhook secret,
sent as `X-Kaketsuke-Signature: sha256=<hex>`; it is computed when the message is
enqueued (the body never changes afterwards, so every retry carries the same bytes and
the same signature, and the receiver can deduplicate by the body's `id`).
"""

import hashlib
import hmac
import urllib.error
import urllib.request

from notifications.providers.base import DeliveryError

DEFAULT_TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Kaketsuke-Signature"
EVENT_HEADER = "X-Kaketsuke-Event"
DELIVERY_HEADER = "X-Kaketsuke-Delivery"
RETRYABLE_STATUSES = (408, 425, 429)  # the receiver asks us to come back later


def sign(secret, body):
    """The signature header value of `body` (str or bytes) under `secret`."""
    data = body.encode() if isinstance(body, str) else body
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: a POST is never replayed elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class WebhookProvider:
    """POSTs a signed JSON body; 2xx is delivered, 5xx/timeouts are retried, 4xx is final."""

    name = "webhook"

    def __init__(self, config):
        self.timeout = float(config.get("WEBHOOK_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS)
        self.opener = urllib.request.build_opener(_NoRedirect)

    def post(self, url, event, signature, body, *, reference=""):
        """Send one event; the provider id is the HTTP status and the delivery reference."""
        if not url.startswith(("https://", "http://")):
            raise DeliveryError("The webhook URL must be http(s).", permanent=True)
        request = urllib.request.Request(url, data=body.encode(), method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", EVENT_HEADER: event,
            SIGNATURE_HEADER: signature, DELIVERY_HEADER: reference,
            "User-Agent": "Kaketsuke-Webhook/1"})
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            raise DeliveryError(f"webhook answered HTTP {exc.code}",
                                permanent=_is_permanent(exc.code)) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}",
                                permanent=False) from exc
        if not 200 <= status < 300:
            raise DeliveryError(f"webhook answered HTTP {status}", permanent=_is_permanent(
                status))
        return f"http-{status}-{reference}"


def _is_permanent(status):
    """4xx (but timeouts and rate limits) will not change on a retry; 3xx is refused too."""
    return 300 <= status < 500 and status not in RETRYABLE_STATUSES
