"""The e-mail channel: desk replies on an incident, and the unmatched mail list."""

from flask import g
from flask_openapi3 import Tag

from app.api import bp
from app.api.mail_schemas import (
    AssignRequest,
    AttachRequest,
    DiscardRequest,
    MailListQuery,
    MailMessageOut,
    MailPage,
    MailPath,
    ReplyRequest,
)
from app.api.mail_serializers import mail_message
from app.api.schemas import IncidentPath
from app.services.mail import conversation, unmatched

TAG = Tag(name="mail", description="The e-mail channel (docs/email.md)")


@bp.post("/incidents/<int:incident_id>/messages", tags=[TAG], responses={201: MailMessageOut})
def send_message(path: IncidentPath, body: ReplyRequest):
    """Reply to the customer by e-mail (through the outbox, the reference in the subject)."""
    row = conversation.reply(path.incident_id, g.api_user, body.text, subject=body.subject,
                             to=body.to)
    return mail_message(row), 201


@bp.get("/mail/unmatched", tags=[TAG], responses={200: MailPage})
def list_unmatched(query: MailListQuery):
    """Mail waiting for the desk (status=refused: mail refused, with the reason); staff."""
    return {"items": [mail_message(row)
                      for row in unmatched.list_mail(g.api_user, query.status)]}


@bp.post("/mail/<int:mail_id>/assign", tags=[TAG], responses={200: MailMessageOut})
def assign_mail(path: MailPath, body: AssignRequest):
    """Open an incident for an organization from an unmatched mail."""
    return mail_message(unmatched.assign(g.api_user, path.mail_id, body.organization_id,
                                         body.register_as))


@bp.post("/mail/<int:mail_id>/attach", tags=[TAG], responses={200: MailMessageOut})
def attach_mail(path: MailPath, body: AttachRequest):
    """File an unmatched mail as a message of an existing incident."""
    return mail_message(unmatched.attach(g.api_user, path.mail_id, body.incident_id))


@bp.post("/mail/<int:mail_id>/discard", tags=[TAG], responses={200: MailMessageOut})
def discard_mail(path: MailPath, body: DiscardRequest):
    """Set an unmatched mail aside as spam, with the reason."""
    return mail_message(unmatched.discard(g.api_user, path.mail_id, body.reason))
