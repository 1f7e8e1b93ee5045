"""Database models, split by aggregate; import them all from here."""

from app.models.admin import AdminChange
from app.models.alerts import Alert, IngestKey, IngestSender, RejectedPayload
from app.models.calls import PhoneCall
from app.models.claims import (
    Claim,
    ClaimPacket,
    CostItem,
    CoverageHead,
    CustodyEntry,
    Evidence,
    InsurerNotice,
    PolicyCoverage,
)
from app.models.dispatch import (
    Dispatch,
    EscalationStep,
    OnCallShift,
    UsedLink,
    WebhookReceipt,
)
from app.models.incident import (
    Incident,
    IncidentEvent,
    IncidentLink,
    ReferenceCounter,
    Voicemail,
)
from app.models.mail import MailMessage, OrganizationDomain
from app.models.notification import Notification
from app.models.organization import (
    Contract,
    InsurancePolicy,
    Insurer,
    Organization,
    OrganizationPhone,
)
from app.models.people import ApiToken, Technician, User
from app.models.reports import MonthlyReport
from app.models.sla import SlaClock

# The largest value an INTEGER column holds (int4 on PostgreSQL): ids, counts and yen.
MAX_INTEGER = 2**31 - 1

__all__ = [
    "MAX_INTEGER",
    "AdminChange",
    "Alert",
    "IngestKey",
    "IngestSender",
    "RejectedPayload",
    "Claim",
    "ClaimPacket",
    "CostItem",
    "CoverageHead",
    "CustodyEntry",
    "Evidence",
    "InsurerNotice",
    "PolicyCoverage",
    "ApiToken",
    "Contract",
    "Dispatch",
    "EscalationStep",
    "Incident",
    "MonthlyReport",
    "IncidentEvent",
    "IncidentLink",
    "InsurancePolicy",
    "Insurer",
    "MailMessage",
    "Notification",
    "OrganizationDomain",
    "OnCallShift",
    "Organization",
    "OrganizationPhone",
    "PhoneCall",
    "ReferenceCounter",
    "SlaClock",
    "Technician",
    "UsedLink",
    "User",
    "Voicemail",
    "WebhookReceipt",
]
