"""Database models, split by aggregate; import them all from here."""

from app.models.incident import Incident, IncidentEvent, ReferenceCounter
from app.models.organization import (
    Contract,
    InsurancePolicy,
    Insurer,
    Organization,
    OrganizationPhone,
)
from app.models.people import ApiToken, Technician, User

__all__ = [
    "ApiToken",
    "Contract",
    "Incident",
    "IncidentEvent",
    "InsurancePolicy",
    "Insurer",
    "Organization",
    "OrganizationPhone",
    "ReferenceCounter",
    "Technician",
    "User",
]
