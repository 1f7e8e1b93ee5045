"""Request and response models of the technician, shift and dispatch endpoints (OpenAPI)."""

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    create_model,
)

from app.api.schemas import Category, Id, Instant, Strict, trigger_param_fields
from app.services.dispatch.technicians import MAX_HOURLY_RATE
from workflows import DISPATCH

Prefecture = Annotated[StrictInt, Field(ge=1, le=47, description="JIS prefecture code")]

def _text_only(value):
    if not isinstance(value, str):
        raise ValueError("Give the time as ISO 8601 text with a time zone.")
    return value


# ISO 8601 text with an offset; numbers (Unix times) are refused, not guessed at.
Timestamp = Annotated[Instant, BeforeValidator(_text_only)]
# The triggers people fire (expire is the system's own).
DispatchTrigger = Literal[tuple(DISPATCH.person_triggers())]


# ---------------------------------------------------------------- requests


class TechnicianCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    company: str = Field("", max_length=200)
    phone: str = Field(max_length=32, description="E.164 (+81...) or a Japanese number "
                                                  "as dialled at home (090-...)")
    email: str = Field("", max_length=254, description="An e-mail address, or empty")
    prefectures: list[Prefecture] = Field(default_factory=list, max_length=47,
                                          description="Prefectures served (JIS codes)")
    skills: list[Category] = Field(default_factory=list, max_length=12,
                                   description="Incident categories handled")
    hourly_rate: StrictInt = Field(0, ge=0, le=MAX_HOURLY_RATE, description="Yen, excl. tax")
    active: StrictBool = True
    locale: Literal["ja", "en"] = Field("ja", description="Language of their messages")


def _no_default(schema):
    schema.pop("default", None)


def Unset(**constraints):  # noqa: N802  (reads as a type in the model below)
    """An optional field that, when sent, must have a value: null is refused, not "unset"."""
    return Field(None, json_schema_extra=_no_default, **constraints)


class TechnicianUpdate(Strict):
    """Only the fields sent are changed; null is not a value of any of them."""

    name: str = Unset(min_length=1, max_length=100)
    company: str = Unset(max_length=200)
    phone: str = Unset(max_length=32)
    email: str = Unset(max_length=254)
    prefectures: list[Prefecture] = Unset(max_length=47)
    skills: list[Category] = Unset(max_length=12)
    hourly_rate: StrictInt = Unset(ge=0, le=MAX_HOURLY_RATE)
    active: StrictBool = Unset()
    locale: Literal["ja", "en"] = Unset()


class TechnicianListQuery(Strict):
    active: bool | None = None
    cursor: str | None = Field(None, max_length=100)
    limit: int = Field(100, ge=1, le=200)


class ShiftCreate(Strict):
    starts_at: Timestamp
    ends_at: Timestamp = Field(description="After starts_at, at most 7 days later")
    note: str = Field("", max_length=200)


class ShiftListQuery(Strict):
    since: Timestamp | None = Field(None, description="Shifts ending after this "
                                                          "(default: now)")
    limit: int = Field(100, ge=1, le=200)


DispatchTransitionRequest = create_model(
    "DispatchTransitionRequest", __base__=Strict, __module__=__name__,
    trigger=(DispatchTrigger, ...), **trigger_param_fields(DISPATCH))


class OverrideRequest(Strict):
    technician_id: Id
    reason: str = Field("", max_length=1000)


class ReofferRequest(Strict):
    """An empty object: the next best candidate is chosen by the server."""


class SignOffRequest(Strict):
    """The customer confirms the visit's work report; a comment is optional."""

    comment: str = Field("", max_length=1000)


class DispatchListQuery(Strict):
    mine: bool = Field(False, description="A technician's own offers and visits "
                                          "(technician tokens always get only their own)")


class TechnicianPath(BaseModel):
    technician_id: Id


class ShiftPath(BaseModel):
    shift_id: Id


class DispatchPath(BaseModel):
    dispatch_id: Id


# ---------------------------------------------------------------- responses


class TechnicianOut(BaseModel):
    id: int
    name: str
    company: str
    phone: str
    email: str
    prefectures: list[int]
    skills: list[str]
    hourly_rate: int
    active: bool
    locale: str
    on_call_now: bool


class TechnicianPage(BaseModel):
    items: list[TechnicianOut]
    next_cursor: str | None


class ShiftOut(BaseModel):
    id: int
    technician_id: int
    starts_at: str
    ends_at: str
    note: str


class ShiftList(BaseModel):
    items: list[ShiftOut]


class CandidateFit(BaseModel):
    on_call_until: str
    prefecture: int
    prefecture_name: str
    skill: str
    open_dispatches: int = Field(description="Offers accepted and visits in progress (load)")


class Candidate(BaseModel):
    rank: int
    technician: TechnicianOut
    fit: CandidateFit


class CandidateList(BaseModel):
    incident_id: int
    as_of: str
    items: list[Candidate]


class TechnicianRef(BaseModel):
    id: int
    name: str
    company: str


class CustomerSignOffOut(BaseModel):
    at: str
    by: str = Field(description="The customer login that signed off")
    comment: str


class EscalationOut(BaseModel):
    step: int
    action: str
    due_at: str
    status: str
    done_at: str | None
    outcome: str


class NotificationOut(BaseModel):
    id: int
    channel: str
    template: str
    recipient: str
    status: str
    attempts: int
    max_attempts: int
    provider_id: str
    last_error: str
    created_at: str
    sent_at: str | None


class DispatchOut(BaseModel):
    id: int
    incident_id: int
    incident_reference: str
    state: str
    version: int
    technician: TechnicianRef
    offered_at: str
    offered_by: str
    responded_at: str | None
    departed_at: str | None
    arrived_at: str | None
    completed_at: str | None
    decline_reason: str
    cancel_reason: str
    work_report: str
    signoff_name: str = Field(description="The name the customer signed on site")
    customer_signoff: CustomerSignOffOut | None = Field(
        description="The customer's online confirmation of the work report; null until given")
    allowed_triggers: list[str]
    escalation_step: int
    escalations: list[EscalationOut] | None = Field(
        description="The escalation timers; null for customers and insurers")
    notifications: list[NotificationOut] | None = Field(
        description="Every message sent for this offer; null for customers and insurers")


class DispatchList(BaseModel):
    items: list[DispatchOut]
