"""Models of the e-mail channel's endpoints: an incident's messages, the unmatched list."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.models import MAX_INTEGER


class Strict(BaseModel):
    """Unknown fields are refused (as app/api/schemas.Strict; that module imports this)."""

    model_config = ConfigDict(extra="forbid")


class MailAttachmentOut(BaseModel):
    filename: str
    content_type: str
    size: int
    sha256: str
    evidence_id: int | None = Field(description="The evidence the file was kept as; null "
                                                "while quarantined or not yet filed.")
    quarantine: str | None = Field(description="Why the file was not accepted as evidence "
                                               "(its bytes stay in the stored mail).")
    forwarded_headers: dict = Field(description="A forwarded mail's (message/rfc822) "
                                                "From, To, Date, Subject, Message-ID.")


class MailMessageOut(BaseModel):
    id: int
    direction: Literal["in", "out"]
    kind: str = Field(description="customer, reply (the desk's) or ack (automatic)")
    status: str
    reason: str
    message_id: str
    from_: str = Field(alias="from")
    to: str
    subject: str
    text: str
    received_at: str | None
    auth_failures: str
    delivery: str | None = Field(description="Outgoing: the outbox row's status.")
    attachments: list[MailAttachmentOut]

    model_config = {"populate_by_name": True}


class MailPage(BaseModel):
    items: list[MailMessageOut]


class MailListQuery(Strict):
    status: Literal["unmatched", "refused"] = "unmatched"


class MailPath(BaseModel):
    mail_id: int = Field(ge=1, le=MAX_INTEGER)


class ReplyRequest(Strict):
    text: str = Field(min_length=1, max_length=20_000)
    subject: str | None = Field(None, max_length=200)
    to: str | None = Field(None, max_length=254, description="Default: the last address "
                                                            "that wrote, else the reporter.")


class AssignRequest(Strict):
    organization_id: int = Field(ge=1, le=MAX_INTEGER)
    register_as: Literal["", "address", "domain"] = ""


class AttachRequest(Strict):
    incident_id: int = Field(ge=1, le=MAX_INTEGER)


class DiscardRequest(Strict):
    reason: str = Field(min_length=1, max_length=500)
