"""Request and response models of the cost, coverage-head and policy-terms endpoints."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt

from app.api.schemas import MAX_INTEGER, Id, Strict

Yen = Annotated[StrictInt, Field(ge=0, le=MAX_INTEGER, description="Yen")]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2,
                                    description="Up to two decimals, e.g. 1.25 hours")]
TaxRate = Literal[10, 8, 0]


class CostPath(BaseModel):
    cost_id: Id


class PolicyPath(BaseModel):
    policy_id: Id


class CostCreate(Strict):
    head: str = Field(min_length=1, max_length=32, description="Coverage head code")
    description: str = Field(min_length=1, max_length=500)
    quantity: Quantity
    unit_price: StrictInt = Field(ge=0, le=100_000_000, description="Yen, excluding tax")
    tax_rate: TaxRate = 10
    incurred_on: date
    dispatch_id: Id | None = None
    evidence_ids: list[Id] = Field(default_factory=list, max_length=100)


class CostUpdate(Strict):
    """Only the fields sent change; the line becomes a draft again."""

    head: str | None = Field(None, min_length=1, max_length=32)
    description: str | None = Field(None, min_length=1, max_length=500)
    quantity: Quantity | None = None
    unit_price: StrictInt | None = Field(None, ge=0, le=100_000_000)
    tax_rate: TaxRate | None = None
    incurred_on: date | None = None


class EvidenceLink(Strict):
    evidence_ids: list[Id] = Field(min_length=1, max_length=100)


class Empty(Strict):
    """No fields."""


class CostOut(BaseModel):
    id: int
    incident_id: int
    dispatch_id: int | None
    head: str
    description: str
    quantity: str
    unit_price: int
    amount: int = Field(description="floor(quantity × unit price), yen excluding tax")
    tax_rate: int
    incurred_on: date
    status: Literal["draft", "approved", "rejected"]
    entered_by: str
    approved_at: str | None
    evidence_ids: list[int]


class CostList(BaseModel):
    items: list[CostOut]
    computation: dict | None = Field(description="The payout of the approved lines under the "
                                                 "covering policy (app.services.payout)")


class HeadCreate(Strict):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]+$")
    name_ja: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)


class HeadOut(BaseModel):
    id: int
    code: str
    name_ja: str
    name_en: str


class HeadList(BaseModel):
    items: list[HeadOut]


class HeadTermsIn(Strict):
    payout_ratio: StrictInt = Field(ge=0, le=100, description="Percent")
    sub_limit: Yen


class PolicyTermsIn(Strict):
    per_incident_limit: Yen
    annual_aggregate: Yen
    deductible: Yen
    heads: dict[str, HeadTermsIn] = Field(description="By head code; a head left out is not "
                                                      "covered")


class PolicyTermsOut(BaseModel):
    id: int
    number: str
    insurer: str
    organization: str
    starts_on: date
    ends_on: date
    per_incident_limit: int
    annual_aggregate: int
    deductible: int
    heads: dict[str, HeadTermsIn]
