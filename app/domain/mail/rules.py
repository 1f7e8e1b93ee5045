"""The rules a received mail is read by: threading, auto-replies (RFC 3834), spoofing.

Pure: each takes a ParsedMail (or plain values) and answers.
"""

import re

REFERENCE = re.compile(r"\[(INC-\d{4}-\d{6})\]")
MAILER_DAEMONS = ("mailer-daemon", "postmaster", "noreply", "no-reply")
BULK_PRECEDENCE = ("bulk", "list", "junk")
AUTH_FAILURES = ("fail", "softfail", "permerror")


def reference_in(subject):
    """The incident reference written in a subject as [INC-YYYY-NNNNNN], or None."""
    match = REFERENCE.search(subject or "")
    return match.group(1) if match else None


def subject_with_reference(subject, reference):
    """The subject with the reference once, at the front."""
    subject = (subject or "").strip()
    if f"[{reference}]" in subject:
        return subject
    return f"[{reference}] {subject}".strip()


def no_auto_reply_reason(mail):
    """Why no automatic answer may go to this mail (RFC 3834 §2), or None."""
    auto = mail.header("Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = mail.header("Precedence").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if mail.header("List-Id") or mail.header("List-Unsubscribe"):
        return "mailing list"
    local = mail.from_address.partition("@")[0]
    if not mail.from_address or local in MAILER_DAEMONS:
        return f"sender {mail.from_address or '(none)'}"
    return None


def authentication_failures(mail, authserv_id=""):
    """SPF/DKIM/DMARC results that failed, from the receiving server's header only.

    The topmost Authentication-Results is the receiving server's (each hop prepends);
    with `authserv_id` set, only a header naming that server counts, so a sender cannot
    plant a passing or failing result of its own further down.
    """
    values = mail.headers.get("authentication-results", [])
    trusted = _trusted(values, authserv_id)
    if trusted is None:
        return []
    failures = []
    for method, result in re.findall(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", trusted.lower()):
        if result in AUTH_FAILURES:
            failures.append(f"{method}={result}")
    return failures


def _trusted(values, authserv_id):
    if not values:
        return None
    if not authserv_id:
        return values[0]
    for value in values:
        if value.split(";")[0].strip().lower() == authserv_id.lower():
            return value
    return None


def address_domain(address):
    return (address or "").rpartition("@")[2].strip().lower()
