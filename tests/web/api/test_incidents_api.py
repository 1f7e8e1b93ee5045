"""The incident API: create, list, get, transitions, notes; scoping and the error shape."""

import re

import pytest

from app.testkit.helpers import row_counts

NEW = {"organization_id": None, "channel": "phone", "category": "ransomware",
       "severity": "critical", "summary": "画面に身代金要求", "description": "全ファイルが開けない",
       "reporter": {"name": "田中", "phone": "03-1234-5678", "email": "tanaka@example.jp"},
       "discovered_at": "2026-11-25T09:00:00+09:00", "discovery_source": "user"}


def new_incident(world, **changes):
    return NEW | {"organization_id": world.org_a} | changes


def create(api, world, role="desk", **changes):
    response = api(role).post("/api/v1/incidents", json=new_incident(world, **changes))
    assert response.status_code == 201, response.json
    return response.json


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.is_json
    assert response.json["error"]["code"] == code
    assert set(response.json["error"]) == {"code", "message", "details"}


def test_desk_creates_an_incident_with_a_reference(api, world):
    body = create(api, world)
    assert re.fullmatch(r"INC-\d{4}-\d{6}", body["reference"])
    assert body["state"] == "received"
    detail = api("desk").get(f"/api/v1/incidents/{body['id']}").json
    assert detail["summary"] == "画面に身代金要求"
    assert detail["discovered_at"] == "2026-11-25T00:00:00Z"
    assert detail["reporter"]["email"] == "tanaka@example.jp"
    assert detail["allowed_triggers"] == ["start_triage", "cancel"]
    assert [e["kind"] for e in detail["timeline"]] == ["intake"]


def test_references_count_up_within_the_year(api, world):
    first = create(api, world)["reference"]
    second = create(api, world)["reference"]
    assert int(second[-6:]) == int(first[-6:]) + 1


def test_a_customer_token_may_omit_its_organization(api, world):
    body = {k: v for k, v in new_incident(world).items() if k != "organization_id"}
    response = api("customer").post("/api/v1/incidents", json=body)
    assert response.status_code == 201
    detail = api("customer").get(f"/api/v1/incidents/{response.json['id']}").json
    assert detail["organization_id"] == world.org_a


def test_a_customer_cannot_report_for_another_organization(app, api, world):
    before = row_counts(app)
    response = api("customer").post("/api/v1/incidents", json=new_incident(
        world, organization_id=world.org_b))
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["reason"] == "unknown_organization"
    assert row_counts(app) == before


def test_a_customer_sees_only_its_own_organization(api, world):
    mine = create(api, world)["id"]
    theirs = create(api, world, organization_id=world.org_b)["id"]
    listed = [i["id"] for i in api("customer").get("/api/v1/incidents").json["items"]]
    assert listed == [mine]
    assert_error(api("customer").get(f"/api/v1/incidents/{theirs}"), 404, "not_found")
    assert_error(api("other_customer").get(f"/api/v1/incidents/{mine}"), 404, "not_found")
    orgs = api("customer").get("/api/v1/organizations").json["items"]
    assert [o["id"] for o in orgs] == [world.org_a]


def test_the_desk_sees_every_organization(api, world):
    orgs = api("desk").get("/api/v1/organizations").json["items"]
    assert {o["id"] for o in orgs} == {world.org_a, world.org_b}


def test_a_technician_sees_only_incidents_offered_to_them(api, world):
    incident = create(api, world)["id"]
    assert_error(api("technician").get(f"/api/v1/incidents/{incident}"), 404, "not_found")
    for trigger in ("start_triage", "request_dispatch"):
        response = api("dispatcher").post(f"/api/v1/incidents/{incident}/transitions",
                                          json={"trigger": trigger})
        assert response.status_code == 200, response.json
    # Both technicians are on call and free; the lower id is offered first.
    detail = api("technician").get(f"/api/v1/incidents/{incident}").json
    assert detail["allowed_triggers"] == []
    assert_error(api("other_technician").get(f"/api/v1/incidents/{incident}"), 404, "not_found")


def test_an_insurer_sees_only_incidents_it_was_told_about(app, api, world):
    from app.extensions import db
    from app.models import InsurerNotice
    told = create(api, world)["id"]
    create(api, world)
    create(api, world, organization_id=world.org_b)
    with app.app_context():
        db.session.add(InsurerNotice(insurer_id=world.insurer, incident_id=told,
                                     kind="early_notice"))
        db.session.commit()
    assert [i["id"] for i in api("insurer").get("/api/v1/incidents").json["items"]] == [told]
    assert api("other_insurer").get("/api/v1/incidents").json["items"] == []


def test_list_filters_and_paginates_newest_first(api, world):
    ids = [create(api, world, severity="low" if n % 2 else "high")["id"] for n in range(7)]
    page = api("desk").get("/api/v1/incidents?limit=3").json
    assert [i["id"] for i in page["items"]] == ids[::-1][:3]
    seen = [i["id"] for i in page["items"]]
    while page["next_cursor"]:
        page = api("desk").get(f"/api/v1/incidents?limit=3&cursor={page['next_cursor']}").json
        seen += [i["id"] for i in page["items"]]
    assert seen == ids[::-1]
    low = api("desk").get("/api/v1/incidents?severity=low").json["items"]
    assert {i["id"] for i in low} == set(ids[1::2])
    by_org = api("desk").get(f"/api/v1/incidents?organization_id={world.org_b}").json
    assert by_org["items"] == []
    by_state = api("desk").get("/api/v1/incidents?state=received&channel=phone&category="
                               "ransomware").json["items"]
    assert len(by_state) == 7


@pytest.mark.parametrize("query", ["state=lost", "limit=0", "limit=1000", "cursor=%%%",
                                   "cursor=eDo1", "severity=urgent", "colour=red"])
def test_bad_list_queries_are_refused(api, world, query):
    assert_error(api("desk").get(f"/api/v1/incidents?{query}"), 422, "validation_error")


def test_a_transition_returns_the_new_state_and_records_one_event(api, world):
    incident = create(api, world)["id"]
    response = api("desk").post(f"/api/v1/incidents/{incident}/transitions",
                                json={"trigger": "start_triage", "note": "called back"})
    assert response.status_code == 200
    assert response.json["state"] == "triaging"
    last = response.json["timeline"][-1]
    assert (last["trigger"], last["from_state"], last["to_state"], last["note"]) == \
        ("start_triage", "received", "triaging", "called back")
    assert last["actor"] == world.emails["desk"]


def test_an_illegal_trigger_is_a_409_naming_state_and_allowed_triggers(app, api, world):
    incident = create(api, world)["id"]
    before = row_counts(app)
    response = api("desk").post(f"/api/v1/incidents/{incident}/transitions",
                                json={"trigger": "close"})
    assert_error(response, 409, "illegal_transition")
    assert response.json["error"]["details"] == {
        "state": "received", "trigger": "close", "allowed_triggers": ["start_triage", "cancel"]}
    assert row_counts(app) == before


def test_a_stale_version_is_a_409(app, api, world):
    created = create(api, world)
    api("desk").post(f"/api/v1/incidents/{created['id']}/notes", json={"note": "first"})
    before = row_counts(app)
    response = api("desk").post(f"/api/v1/incidents/{created['id']}/transitions",
                                json={"trigger": "start_triage", "version": created["version"]})
    assert_error(response, 409, "concurrent_update")
    assert row_counts(app) == before


def test_dispatch_needs_an_onsite_contract(app, api, world):
    incident = create(api, world, organization_id=world.org_b)["id"]
    api("desk").post(f"/api/v1/incidents/{incident}/transitions",
                     json={"trigger": "start_triage"})
    before = row_counts(app)
    response = api("desk").post(f"/api/v1/incidents/{incident}/transitions",
                                json={"trigger": "request_dispatch"})
    assert_error(response, 409, "guard_refused")
    assert response.json["error"]["details"]["reason"] == "no_onsite_contract"
    assert row_counts(app) == before


def test_cancel_needs_a_reason(app, api, world):
    incident = create(api, world)["id"]
    before = row_counts(app)
    response = api("desk").post(f"/api/v1/incidents/{incident}/transitions",
                                json={"trigger": "cancel"})
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["field"] == "reason"
    assert row_counts(app) == before
    ok = api("desk").post(f"/api/v1/incidents/{incident}/transitions",
                          json={"trigger": "cancel", "reason": "duplicate"})
    assert ok.json["state"] == "cancelled"
    assert ok.json["timeline"][-1]["data"] == {"reason": "duplicate"}


def test_notes_are_added_to_the_timeline(api, world):
    incident = create(api, world)["id"]
    response = api("customer").post(f"/api/v1/incidents/{incident}/notes",
                                    json={"note": "追加情報: USBメモリも接続していた"})
    assert response.status_code == 201
    timeline = api("desk").get(f"/api/v1/incidents/{incident}").json["timeline"]
    assert timeline[-1]["kind"] == "customer_note"  # a customer's: information for the desk
    assert timeline[-1]["actor"] == world.emails["customer"]
    assert api("desk").post(f"/api/v1/incidents/{incident}/notes",
                            json={"note": "社内: 折り返し済み"}).status_code == 201
    timeline = api("desk").get(f"/api/v1/incidents/{incident}").json["timeline"]
    assert timeline[-1]["kind"] == "note"


def test_an_unknown_or_another_categorys_triage_key_is_a_422_and_changes_nothing(
        app, api, world):
    incident = create(api, world, category="phishing_bec")["id"]
    api("desk").post(f"/api/v1/incidents/{incident}/transitions", json={"trigger": "start_triage"})
    url = f"/api/v1/incidents/{incident}/triage-checks"
    before = row_counts(app)
    unknown = api("desk").post(url, json={"item": "format_c_drive"})
    assert_error(unknown, 422, "validation_error")
    assert "item" in str(unknown.json["error"]["details"])
    other_category = api("desk").post(url, json={"item": "ransom_note"})  # ransomware's key
    assert_error(other_category, 422, "validation_error")
    assert row_counts(app) == before
    assert api("desk").post(url, json={"item": "no_transfer"}).status_code == 201


def test_triage_checks_are_recorded_in_triage_only(app, api, world):
    incident = create(api, world)["id"]
    url = f"/api/v1/incidents/{incident}/triage-checks"
    assert_error(api("desk").post(url, json={"item": "isolate"}), 409, "conflict")
    api("desk").post(f"/api/v1/incidents/{incident}/transitions", json={"trigger": "start_triage"})
    assert api("desk").post(url, json={"item": "isolate"}).status_code == 201
    assert_error(api("desk").post(url, json={"item": "not_an_item"}), 422, "validation_error")
    assert_error(api("customer").post(url, json={"item": "isolate"}), 403, "forbidden")
    events = api("desk").get(f"/api/v1/incidents/{incident}").json["timeline"]
    assert [e["data"] for e in events if e["kind"] == "triage_check"] == [
        {"item": "isolate", "checked": True}]


def _statements(app, api, path):
    """How many SQL statements answering `path` takes, and how many items it lists."""
    from sqlalchemy import event

    from app.extensions import db
    with app.app_context():
        engine = db.engine
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = api("desk").get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements), len(response.json["items"])


@pytest.mark.parametrize("query", ["", "&sla=breached"], ids=["all", "sla filter"])
def test_a_page_of_the_list_costs_a_fixed_number_of_queries(app, api, world, query):
    """Organizations and SLA clocks are loaded with the page, not once per row (no N+1)."""
    from datetime import timedelta

    from app.domain.timeutil import utcnow
    from app.extensions import db
    from app.services.incidents.intake import IntakeRequest, report_incident
    from app.testkit import factories

    def add_late_incidents(n):  # each with a first-response clock in breach
        with app.app_context():
            for _ in range(n):
                org = factories.make_organization()
                report_incident(IntakeRequest(organization_id=org.id, channel="web",
                                              category="dos", severity="low", summary="遅い"),
                                actor_label="test", now=utcnow() - timedelta(hours=1))
            db.session.remove()

    add_late_incidents(1)
    one = _statements(app, api, f"/api/v1/incidents?limit=50{query}")
    add_late_incidents(6)
    many = _statements(app, api, f"/api/v1/incidents?limit=50{query}")
    assert (one[1], many[1]) == (1, 7)
    # token look-up, the page (with organizations), the page's SLA clocks, BEGIN/etc.
    assert one[0] == many[0] <= 5


def test_a_technician_whose_offer_ended_no_longer_sees_the_incident(app, api, world):
    from app.extensions import db
    from app.models import Dispatch
    incident = create(api, world)["id"]
    for trigger in ("start_triage", "request_dispatch"):
        api("dispatcher").post(f"/api/v1/incidents/{incident}/transitions",
                               json={"trigger": trigger})
    assert api("technician").get(f"/api/v1/incidents/{incident}").status_code == 200
    with app.app_context():
        offer = db.session.query(Dispatch).filter_by(incident_id=incident).one()
        offer_id = offer.id
    api("technician").post(f"/api/v1/dispatches/{offer_id}/transitions",
                           json={"trigger": "decline", "reason": "別件対応中"})
    assert_error(api("technician").get(f"/api/v1/incidents/{incident}"), 404, "not_found")


def test_an_insurer_sees_an_incident_only_once_told_or_claimed(app, api, world):
    """A policy, even an expired one, on the organization is not enough: notice or claim is."""
    from datetime import date

    from app.extensions import db
    from app.models import InsurancePolicy
    incident = create(api, world)["id"]
    with app.app_context():
        db.session.add(InsurancePolicy(
            number="OLD-1", insurer_id=db.session.get(
                __import__("app.models", fromlist=["User"]).User,
                world.users["other_insurer"]).insurer_id,
            organization_id=world.org_a, starts_on=date(2015, 1, 1), ends_on=date(2016, 1, 1),
            per_incident_limit=1, annual_aggregate=1, deductible=0))
        db.session.commit()
    assert api("other_insurer").get("/api/v1/incidents").json["items"] == []
    assert_error(api("other_insurer").get(f"/api/v1/incidents/{incident}"), 404, "not_found")
    assert api("insurer").get("/api/v1/incidents").json["items"] == []  # nothing told yet


def _organization_with_contracts(*contracts):
    """A new organization with contracts (starts_on, ends_on, onsite, first-response minutes)."""
    from app.extensions import db
    from app.models import Contract
    from app.testkit import factories
    org = factories.make_organization(contract=False, policy=False)
    for starts_on, ends_on, onsite, minutes in contracts:
        db.session.add(Contract(organization_id=org.id, plan="combined", monthly_fee=15000,
                                onsite_support=onsite, starts_on=starts_on, ends_on=ends_on,
                                sla_first_response_minutes=minutes))
    db.session.commit()
    return org.id


@pytest.mark.parametrize(("contracts", "minutes"), [
    ([(2020, 2021, True, 11), (2098, None, True, 12), (2024, None, False, 13),
      (2022, None, True, 14)], [14]),
    ([(2020, 2021, True, 11), (2022, None, False, 15), (2024, 2097, False, 16)], [16]),
    ([(2022, None, True, 17), (2022, None, True, 18)], [18]),
    ([(2020, 2021, True, 11), (2098, None, True, 12)], []),
], ids=["on-site first", "latest start", "newest of equals", "none active"])
def test_the_first_response_clock_follows_the_contract_active_at_intake(
        app, api, world, contracts, minutes):
    """Ended and future contracts do not count; of the active ones an on-site contract
    first, then the latest start, then the newest."""
    from datetime import date
    with app.app_context():
        org_id = _organization_with_contracts(*[
            (date(start, 1, 1), date(end, 12, 31) if end else None, onsite, m)
            for start, end, onsite, m in contracts])
    created = create(api, world, organization_id=org_id)
    clocks = api("desk").get(f"/api/v1/incidents/{created['id']}").json["sla"]
    assert [c["target_minutes"] for c in clocks] == minutes
    assert all(c["name"] == "first_response" for c in clocks)


def test_references_start_again_each_japanese_year_and_ids_follow_on(ctx, world):
    """The year is Japan's: 2026-12-31 15:30 UTC is already 2027 in Tokyo."""
    from datetime import datetime

    from app.services.incidents.intake import IntakeRequest, report_incident

    def report_at(now):
        incident = report_incident(IntakeRequest(
            organization_id=world.org_a, channel="web", category="dos", severity="low",
            summary="遅い"), actor_label="test", now=now)
        return incident.id, incident.reference

    made = [report_at(datetime(2026, 12, 31, 14, 0)), report_at(datetime(2026, 12, 31, 15, 30)),
            report_at(datetime(2026, 12, 31, 14, 30)), report_at(datetime(2027, 1, 2, 0, 0))]
    assert [reference for _, reference in made] == [
        "INC-2026-000001", "INC-2027-000001", "INC-2026-000002", "INC-2027-000002"]
    ids = [incident_id for incident_id, _ in made]
    assert ids == sorted(ids) and len(set(ids)) == 4


@pytest.mark.parametrize("named", [True, False])
def test_a_customer_of_no_organization_reports_for_none(app, ctx, world, named):
    """A customer account not (or no longer) tied to an organization acts for none: naming
    one is answered like an unknown organization, and nothing is written."""
    from app.errors import InvalidInput
    from app.extensions import db
    from app.services.incidents.intake import IntakeRequest, report_incident
    from app.testkit.factories import make_user

    orphan = make_user("customer")
    before = row_counts(app)
    with pytest.raises(InvalidInput) as refused:
        report_incident(IntakeRequest(
            organization_id=world.org_a if named else None, channel="web", category="dos",
            severity="low", summary="遅い"), actor=orphan, actor_label="test")
    db.session.rollback()
    assert refused.value.details["reason"] == "unknown_organization"
    assert row_counts(app) == before
