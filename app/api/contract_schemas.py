"""Request and response models of the contract endpoints."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from app.api.cost_schemas import Id, Yen
from app.api.schemas import Severity, Strict

Plan = Literal["network", "endpoint", "combined"]
ServiceClass = Literal[1, 2]
DeskHours = Literal["24h", "business"]
Devices = StrictInt
Minutes = StrictInt
ACKNOWLEDGE_HELP = "A technician accepts the offer within this many minutes"
CLAIM_HELP = "The claim is submitted within this many business days of the on-site work"
SEVERITIES_HELP = ("Alert severities that open an incident; [] = none (alerts kept for the "
                   "reports only); null = the configured default (ALERT_INCIDENT_SEVERITIES)")


class OrganizationContractsPath(BaseModel):
    organization_id: Id


class ContractPath(BaseModel):
    contract_id: Id


class ContractCreate(Strict):
    """A class-1 contract is refused above the price caps; a class-2 one that adds nothing."""

    plan: Plan
    service_class: ServiceClass = 1
    devices: Devices = Field(1, ge=1, le=1_000_000, description="Monitored devices (from 1)")
    monthly_fee: Yen = Field(description="Yen a month, excluding tax")
    onsite_support: StrictBool = True
    starts_on: date
    ends_on: date | None = Field(None, description="After starts_on; null = open-ended")
    desk_hours: DeskHours = "24h"
    sla_first_response_minutes: Minutes = Field(30, ge=1, le=527_040)
    sla_onsite_minutes: Minutes = Field(24 * 60, ge=1, le=527_040)
    sla_acknowledge_minutes: Minutes = Field(30, ge=1, le=1440, description=ACKNOWLEDGE_HELP)
    sla_claim_business_days: StrictInt = Field(10, ge=1, le=90, description=CLAIM_HELP)
    alert_incident_severities: list[Severity] | None = Field(None, max_length=4,
                                                             description=SEVERITIES_HELP)
    policy_id: Id | None = None
    added_monitoring: str = Field("", max_length=100, description="Class 2: e.g. CASB, SASE")
    monthly_service: str = Field("", max_length=200,
                                 description="Class 2: a service given at least monthly")


class ContractUpdate(Strict):
    """Only the fields sent change; the whole contract is checked again."""

    plan: Plan | None = None
    service_class: ServiceClass | None = None
    devices: Devices | None = Field(None, ge=1, le=1_000_000)
    monthly_fee: Yen | None = None
    onsite_support: StrictBool | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    desk_hours: DeskHours | None = None
    sla_first_response_minutes: Minutes | None = Field(None, ge=1, le=527_040)
    sla_onsite_minutes: Minutes | None = Field(None, ge=1, le=527_040)
    sla_acknowledge_minutes: Minutes | None = Field(None, ge=1, le=1440)
    sla_claim_business_days: StrictInt | None = Field(None, ge=1, le=90)
    alert_incident_severities: list[Severity] | None = Field(None, max_length=4,
                                                             description=SEVERITIES_HELP)
    policy_id: Id | None = None
    added_monitoring: str | None = Field(None, max_length=100)
    monthly_service: str | None = Field(None, max_length=200)


class ContractOut(BaseModel):
    id: int
    organization_id: int
    plan: str
    service_class: int
    devices: int
    monthly_fee: int
    onsite_support: bool
    starts_on: date
    ends_on: date | None
    desk_hours: str
    sla_first_response_minutes: int
    sla_onsite_minutes: int
    sla_acknowledge_minutes: int
    sla_claim_business_days: int
    alert_incident_severities: list[str] | None = Field(description=SEVERITIES_HELP)
    policy_id: int | None
    added_monitoring: str
    monthly_service: str


class ContractList(BaseModel):
    items: list[ContractOut]
