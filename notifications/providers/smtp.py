"""E-mail through an SMTP server (STARTTLS and login when configured)."""

import secrets
import smtplib
import ssl
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate

from notifications.providers.base import DeliveryError

DEFAULT_TIMEOUT_SECONDS = 10


class SmtpProvider:
    """One SMTP conversation per message: connect, STARTTLS, login, send, quit."""

    name = "smtp"

    def __init__(self, config):
        self.host = config["SMTP_HOST"]
        self.port = int(config.get("SMTP_PORT") or 25)
        self.username = config.get("SMTP_USERNAME", "")
        self.password = config.get("SMTP_PASSWORD", "")
        self.starttls = bool(config.get("SMTP_STARTTLS"))
        self.sender = config.get("MAIL_FROM") or "kaketsuke@localhost"
        self.timeout = float(config.get("SMTP_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS)

    def send_email(self, to, subject, body, *, reference="", headers=None):
        """Send a plain-text message; its Message-ID is the provider id.

        `headers` adds or sets headers (the e-mail channel's Message-ID, In-Reply-To,
        References, Auto-Submitted); a given Message-ID replaces the generated one.
        """
        message = self._message(to, subject, body, reference)
        for name, value in (headers or {}).items():
            del message[name]
            message[name] = value
        with _classified(), smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)
        return message["Message-ID"]

    def _message(self, to, subject, body, reference):
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        domain = self.sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = f"<{reference}.{secrets.token_hex(6)}@{domain}>"
        message.set_content(body)
        return message


def _is_permanent(code):
    return code >= 500


@contextmanager
def _classified():
    """SMTP's answers as DeliveryError: 5xx is permanent, 4xx and network trouble are not."""
    try:
        yield
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _text in exc.recipients.values()]
        raise DeliveryError(f"SMTP refused the recipient ({', '.join(map(str, codes))})",
                            permanent=all(map(_is_permanent, codes))) from exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        raise DeliveryError(f"SMTP {exc.smtp_code}: {text}"[:400],
                            permanent=_is_permanent(exc.smtp_code)) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"SMTP server lacks a needed extension: {exc}"[:400],
                            permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP unreachable: {type(exc).__name__}", permanent=False) from exc
