"""Request and response models of the claim endpoints."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt

from app.api.schemas import MAX_INTEGER, Id, Strict


class ClaimPath(BaseModel):
    claim_id: Id


class PacketPath(BaseModel):
    claim_id: Id
    version: Annotated[int, Field(ge=1, le=10_000)]


class ClaimListQuery(BaseModel):
    state: str | None = Field(None, max_length=32, description="The incident's claim_* state")


class VerifyRequest(Strict):
    version: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        None, description="The packet version; the latest when left out")


class ClaimAction(Strict):
    """An insurer's decision; the fields each action needs are checked by the workflow."""

    action: Literal["acknowledge", "request_info", "approve", "deny", "record_payment"]
    amount: StrictInt | None = Field(None, ge=1, le=MAX_INTEGER,
                                     description="Yen (approve, record_payment)")
    reason: str | None = Field(None, max_length=1000, description="Why (deny)")
    message: str | None = Field(None, max_length=5000,
                                description="What is needed (request_info)")
    paid_on: date | None = Field(None, description="Payment date (record_payment)")
    note: str = Field("", max_length=1000)


class PacketOut(BaseModel):
    version: int
    size: int
    sha256: str
    manifest_sha256: str
    signature: str
    public_key: str
    created_at: datetime
    created_by: str


class ClaimOut(BaseModel):
    id: int
    incident_id: int
    reference: str
    state: str
    organization: dict
    policy: dict
    claimed_amount: int
    payable_amount: int
    customer_share: int | None
    approved_amount: int | None
    paid_amount: int | None
    paid_on: date | None
    acknowledged_at: datetime | None
    created_at: datetime
    packets: list[PacketOut]


class ClaimDetail(ClaimOut):
    computation: dict


class ClaimList(BaseModel):
    items: list[ClaimOut]


class VerifyResult(BaseModel):
    version: int
    ok: bool
    problems: list[str]
