"""Request and response models of the insurer, insurer-user and policy endpoints."""

from datetime import date

from pydantic import BaseModel, Field, StrictInt

from app.api.cost_schemas import Id, Yen
from app.api.schemas import Strict


class InsurerPath(BaseModel):
    insurer_id: Id


class PolicyIdPath(BaseModel):
    policy_id: Id


class InsurerCreate(Strict):
    code: str = Field(min_length=2, max_length=32, description="Letters, digits, -; stored "
                                                              "in upper case")
    name: str = Field(min_length=1, max_length=200)
    notice_email: str = Field("", max_length=254, description="Where early notices go; "
                                                             "\"\" = none")
    webhook_url: str = Field("", max_length=254, description="https (http only for "
                                                            "127.0.0.1/localhost); \"\" = none")


class InsurerUpdate(Strict):
    """Only the fields sent change; the webhook secret never changes here."""

    code: str | None = Field(None, min_length=2, max_length=32)
    name: str | None = Field(None, min_length=1, max_length=200)
    notice_email: str | None = Field(None, max_length=254)
    webhook_url: str | None = Field(None, max_length=254)


class InsurerOut(BaseModel):
    id: int
    code: str
    name: str
    notice_email: str
    webhook_url: str
    has_webhook_secret: bool


class InsurerCreated(InsurerOut):
    webhook_secret: str = Field(description="Shown only in this answer: keep it")


class InsurerList(BaseModel):
    items: list[InsurerOut]


class SecretOut(BaseModel):
    id: int
    webhook_secret: str = Field(description="Shown only in this answer: keep it")


class InsurerUserCreate(Strict):
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=200, description="The initial password")


class InsurerUserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    insurer_id: int
    active: bool


class InsurerUserList(BaseModel):
    items: list[InsurerUserOut]


class PolicyCreate(Strict):
    number: str = Field(min_length=1, max_length=64)
    insurer_id: Id
    organization_id: Id
    starts_on: date
    ends_on: date = Field(description="After starts_on; the last day covered")
    per_incident_limit: Yen
    annual_aggregate: Yen
    deductible: Yen = 0


class PolicyUpdate(Strict):
    """Only the fields sent change; a policy with claims keeps its insurer and insured."""

    number: str | None = Field(None, min_length=1, max_length=64)
    insurer_id: Id | None = None
    organization_id: Id | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    per_incident_limit: Yen | None = None
    annual_aggregate: Yen | None = None
    deductible: Yen | None = None


class PolicyOut(BaseModel):
    id: int
    number: str
    insurer_id: int
    organization_id: int
    starts_on: date
    ends_on: date
    per_incident_limit: StrictInt
    annual_aggregate: StrictInt
    deductible: StrictInt


class PolicyList(BaseModel):
    items: list[PolicyOut]
