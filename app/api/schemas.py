"""Request and response models of the JSON API v1 (they also make the OpenAPI document)."""

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
    create_model,
)

from app.api.mail_schemas import MailMessageOut
from app.domain.timeutil import in_range_utc
from app.domain.triage import CHECKLISTS, ITEM_LABELS
from app.models import MAX_INTEGER
from app.models.incident import CATEGORIES, CHANNELS, DISCOVERY_SOURCES, SEVERITIES
from app.models.sla import CALENDARS, CLOCK_NAMES
from workflows import INCIDENT
from workflows.incident import STATES, TRIGGERS

Channel = Literal[CHANNELS]
Category = Literal[CATEGORIES]
Severity = Literal[SEVERITIES]
DiscoverySource = Literal[DISCOVERY_SOURCES]
State = Literal[tuple(STATES)]
Trigger = Literal[tuple(TRIGGERS)]
# The largest value of an INTEGER column (int4 on PostgreSQL): ids and yen amounts above it
# are a 422 here, not a database error (tests/web/api/test_schemathesis.py found the 500s).
Id = Annotated[int, Field(ge=1, le=MAX_INTEGER)]


def _in_range(value):
    in_range_utc(value)  # ValueError (a 422) when shifting it to UTC would overflow
    return value


# Every instant the API accepts: with a time zone, and between 1970 and 2100 in UTC.
Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]


class Strict(BaseModel):
    """Unknown fields are refused, so a misspelt field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def _no_defaults(schema):
    """A field left out stays as it is: the document shows no default (null is no value)."""
    for field in schema.get("properties", {}).values():
        field.pop("default", None)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict


class ErrorResponse(BaseModel):
    """Every API error: {"error": {"code", "message", "details"}}."""

    error: ErrorDetail


class Reporter(Strict):
    name: str = Field("", max_length=100)
    phone: str = Field("", max_length=32)
    email: EmailStr | None = None


class IncidentCreate(Strict):
    organization_id: int | None = Field(
        None, description="Required for staff tokens; a customer token may omit it.")
    channel: Channel
    category: Category
    severity: Severity = "medium"
    summary: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10000)
    reporter: Reporter = Field(default_factory=Reporter)
    discovered_at: Instant | None = None
    occurred_at: Instant | None = None
    discovery_source: DiscoverySource = "user"


class IncidentPath(BaseModel):
    incident_id: int = Field(ge=1, le=MAX_INTEGER)


class IncidentListQuery(Strict):
    state: State | None = None
    organization_id: int | None = Field(None, ge=1, le=MAX_INTEGER)
    category: Category | None = None
    severity: Severity | None = None
    channel: Channel | None = None
    sla: Literal["breached", "near"] | None = Field(
        None, description="Only incidents whose most urgent running SLA clock is in breach, "
                          "or near its breach (and none in breach).")
    cursor: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=200)


# The type and limits of every trigger parameter (the `params` of workflows/*.py). A
# trigger's request model has a field for each parameter people give with that workflow's
# triggers, derived below; a parameter with no entry here fails at start-up.
TRIGGER_PARAMS = {
    "reason": (str, {"max_length": 1000}),
    "message": (str, {"max_length": 5000}),
    "amount": (int, {"ge": 1, "le": MAX_INTEGER}),
    "paid_on": (date, {}),
    "work_report": (str, {"max_length": 20000}),
    "signoff_name": (str, {"max_length": 100}),
}


def trigger_param_fields(workflow):
    """The optional request fields of the parameters people give with `workflow`'s
    triggers, each described by the triggers that take it."""
    fields = {}
    for name in workflow.person_params():
        kind, limits = TRIGGER_PARAMS[name]
        takers = [t for t in workflow.person_triggers() if name in workflow.params_of(t)]
        fields[name] = (kind | None, Field(None, description=", ".join(takers), **limits))
    return fields


TransitionRequest = create_model(
    "TransitionRequest", __base__=Strict, __module__=__name__,
    trigger=(Trigger, ...), note=(str, Field("", max_length=5000)),
    version=(int | None, Field(None, description="The version you last saw; a newer one on "
                                                 "the server is a 409.")),
    **trigger_param_fields(INCIDENT))


class LeakMarkRequest(Strict):
    malicious: StrictBool = Field(
        False, description="Caused with malice (e.g. an attack): the final report is due in "
                           "60 days instead of 30. Marking again with the other value "
                           "changes only this.")
    version: int | None = Field(
        None, description="The version you last saw; a newer one on the server is a 409.")


class LeakReportRequest(Strict):
    kind: Literal["preliminary", "final"]
    reported_at: Instant = Field(
        description="When the report was made: not in the future, not before discovery; "
                    "the final report not before the preliminary one.")
    version: int | None = None


class LeakUnmarkQuery(Strict):
    version: int | None = Field(
        None, description="The version you last saw; a newer one on the server is a 409.")


class NoteRequest(Strict):
    note: str = Field(min_length=1, max_length=5000)
    share_with_insurer: bool = Field(
        False, description="Let the insurer read the note: its early notice, the claim "
        "documents (claim.json, claim.pdf), its portal and this API. An insurer's own notes "
        "are always its to read.")


TRIAGE_ITEMS = frozenset(ITEM_LABELS)


def _known_triage_item(value):
    if value not in TRIAGE_ITEMS:
        raise ValueError("not an item of any category's triage checklist")
    return value


def _triage_item_schema():
    """One enum per incident category, titled with the category (the checklists of
    app/domain/triage.py): a client finds the keys its incident's category accepts."""
    return {"type": "string", "title": "Item", "anyOf": [
        {"title": category, "enum": [key for key, _ in items]}
        for category, items in CHECKLISTS.items()],
        "description": "A key of the checklist of the incident's category: the anyOf entry "
                       "titled with the category lists them. A key of no checklist is a 422; "
                       "a key of another category's checklist is a 422 too."}


# pydantic checks one list of every key (one clear error); the document shows them per category.
TriageItem = Annotated[str, AfterValidator(_known_triage_item),
                       WithJsonSchema(_triage_item_schema())]


class TriageCheckRequest(Strict):
    item: TriageItem
    checked: bool = True


class ReporterOut(BaseModel):
    name: str
    phone: str
    email: str


class TimelineEvent(BaseModel):
    seq: int
    kind: str
    occurred_at: str
    actor: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    note: str
    data: dict
    text: str = Field(description="The event as a sentence in the request's language "
                      "(?lang=ja|en, else Japanese): names, amounts in yen, times in Japan "
                      "time, e.g. \"技術者 佐藤 健 が駆付けを受諾しました\".")


class SlaClockOut(BaseModel):
    name: Literal[CLOCK_NAMES]
    calendar: Literal[CALENDARS]
    target_minutes: int = Field(description="In the clock's calendar: business minutes "
                                            "for a business clock.")
    started_at: str
    due_at: str
    warn_at: str = Field(description="Near its breach from here on.")
    stopped_at: str | None
    status: Literal["ok", "near", "breached", "met", "missed", "withdrawn"] = Field(
        description="As of the request: ok, near or breached while running; else the outcome.")


class IncidentSummary(BaseModel):
    id: int
    reference: str
    organization_id: int
    organization_name: str
    channel: str
    category: str
    severity: str
    summary: str
    state: str
    version: int
    discovered_at: str
    created_at: str
    updated_at: str
    sla: list[SlaClockOut]
    sla_status: Literal["breached", "near", "ok"] | None = Field(
        description="The most urgent status of the running clocks; null when none runs.")


class LinkOut(BaseModel):
    incident_id: int
    reference: str
    state: str
    kind: Literal["duplicate_of", "duplicated_by", "related"] = Field(
        description="From this incident's side: duplicate_of (this one was merged into the "
                    "other and cancelled), duplicated_by (the other was merged into this "
                    "one), related.")
    created_at: str


class PersonalDataLeakOut(BaseModel):
    malicious: bool
    preliminary_reported_at: str | None
    final_reported_at: str | None


class IncidentDetail(IncidentSummary):
    description: str
    reporter: ReporterOut
    occurred_at: str | None
    discovery_source: str
    assigned_technician_id: int | None
    allowed_triggers: list[str]
    personal_data_leak: PersonalDataLeakOut | None = Field(
        description="Set while the incident is marked as a personal-data leak.")
    needs_completion: bool = Field(
        description="Opened by the phone line with placeholder facts; a staff correction "
                    "(PATCH) completes it.")
    links: list[LinkOut] = Field(description="Links to incidents you may see, oldest first.")
    timeline: list[TimelineEvent]
    messages: list[MailMessageOut] | None = Field(
        None, description="The e-mail conversation, oldest first (customer and staff only; "
                          "each as in POST /incidents/{id}/messages): direction, from, "
                          "subject, text, received_at, attachments with evidence ids.")


class ReporterCorrection(Strict):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_defaults)

    name: str = Field(None, max_length=100)
    phone: str = Field(None, max_length=32, description="E.164 or as dialled in Japan; "
                       "stored in E.164; \"\" clears it")
    email: EmailStr | Literal[""] = Field(None, description="\"\" clears it")


class IncidentCorrection(Strict):
    """A correction of the incident's facts: only the fields sent change (null is refused).
    Customers may send only `description` and `reporter`; `organization_id` only while the
    incident is received or triaging, with a `reason`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_defaults)

    version: StrictInt = Field(description="The version you last saw; any other is a 409.")
    reason: str = Field(None, max_length=1000, description="Why; required to change the "
                                                          "organization")
    completed: StrictBool = Field(None, description="Staff: the call the phone line opened "
                                                    "is complete (any staff correction also "
                                                    "completes it)")
    category: Category = None
    severity: Severity = None
    summary: str = Field(None, min_length=1, max_length=200)
    description: str = Field(None, max_length=10000)
    reporter: ReporterCorrection = None
    occurred_at: Instant | None = Field(None, description="null clears it")
    discovered_at: Instant = None
    discovery_source: DiscoverySource = None
    organization_id: Id = None


class LinkRequest(Strict):
    incident_id: Id = Field(description="The other incident")
    kind: Literal["duplicate_of", "related"] = Field(
        description="duplicate_of: this incident is the same case as the other; it is "
                    "cancelled (reason \"duplicate\") and its reporter told to follow the "
                    "other. related: linked both ways, nothing else changes.")


class IncidentCreated(BaseModel):
    id: int
    reference: str
    state: str
    version: int


class IncidentPage(BaseModel):
    items: list[IncidentSummary]
    next_cursor: str | None


class NoteCreated(BaseModel):
    seq: int
    version: int


class OrganizationOut(BaseModel):
    id: int
    code: str
    name: str
    address: str
    prefecture: int
    industry: str
    employees: int


class OrganizationList(BaseModel):
    items: list[OrganizationOut]


class OrganizationPath(BaseModel):
    organization_id: Id


class PhoneIn(Strict):
    number: str = Field(min_length=1, max_length=32, description="E.164 (+81...) or a "
                        "Japanese number as dialled at home (03-...); stored in E.164")
    label: str = Field("", max_length=50, description="e.g. 代表, 情報システム担当")


PHONES_DESCRIPTION = "Caller-ID numbers; a number belongs to one organization only (409)"


class OrganizationCreate(Strict):
    code: str = Field(min_length=1, max_length=32, description="Letters, digits, - and _; "
                      "stored in upper case; unique")
    name: str = Field(min_length=1, max_length=200)
    address: str = Field("", max_length=300)
    prefecture: StrictInt = Field(ge=1, le=47, description="JIS code, 1 (北海道) to 47 (沖縄県)")
    industry: str = Field("", max_length=100)
    employees: StrictInt = Field(0, ge=0, le=MAX_INTEGER)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=50,
                                  description=PHONES_DESCRIPTION)


class OrganizationUpdate(Strict):
    """Only the fields sent change (null is refused); `phones`, when sent, is the whole new
    list: numbers left out are unregistered."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_defaults)

    code: str = Field(None, min_length=1, max_length=32)
    name: str = Field(None, min_length=1, max_length=200)
    address: str = Field(None, max_length=300)
    prefecture: StrictInt = Field(None, ge=1, le=47)
    industry: str = Field(None, max_length=100)
    employees: StrictInt = Field(None, ge=0, le=MAX_INTEGER)
    phones: list[PhoneIn] = Field(None, max_length=50, description=PHONES_DESCRIPTION)


class PhoneOut(BaseModel):
    id: int
    number: str = Field(description="E.164")
    label: str


class OrganizationDetail(OrganizationOut):
    phones: list[PhoneOut]
    created_at: str
