"""Building test mail byte for byte (what a mailer would put on the wire)."""

import base64

from app.extensions import db
from app.models import OrganizationDomain


def plain_mail(sender="boss@kou.example.jp", subject="ウイルス感染の疑い",
               text="画面に警告が出ました。", message_id="m1@kou.example.jp", headers=()):
    """A UTF-8 mail with a base64 subject and body, optionally with more header lines."""
    lines = [f"From: {sender}", "To: desk@kaketsuke.test",
             f"Subject: =?UTF-8?B?{base64.b64encode(subject.encode()).decode()}?=",
             f"Message-ID: <{message_id}>", "Date: Wed, 25 Nov 2026 10:00:00 +0900",
             "MIME-Version: 1.0", 'Content-Type: text/plain; charset="UTF-8"',
             "Content-Transfer-Encoding: base64", *headers, "",
             base64.encodebytes(text.encode()).decode().strip(), ""]
    return "\r\n".join(lines).encode()


def register_domain(organization_id, domain="kou.example.jp"):
    db.session.add(OrganizationDomain(organization_id=organization_id, domain=domain))
    db.session.commit()


def mail_with_attachments(files, sender="boss@kou.example.jp", subject="添付あり",
                          message_id="att@kou.example.jp", headers=()):
    """A multipart/mixed mail: a text part, then each (filename, content type, bytes)."""
    boundary = "==kk-boundary=="
    lines = [f"From: {sender}", "To: desk@kaketsuke.test",
             f"Subject: =?UTF-8?B?{base64.b64encode(subject.encode()).decode()}?=",
             f"Message-ID: <{message_id}>", "MIME-Version: 1.0", *headers,
             f'Content-Type: multipart/mixed; boundary="{boundary}"', "",
             f"--{boundary}", 'Content-Type: text/plain; charset="UTF-8"',
             "Content-Transfer-Encoding: 8bit", "", "ファイルを送ります。"]
    for filename, content_type, data in files:
        lines += [f"--{boundary}", f"Content-Type: {content_type}",
                  "Content-Transfer-Encoding: base64",
                  f'Content-Disposition: attachment; filename="{filename}"', "",
                  base64.encodebytes(data).decode().strip()]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode()
