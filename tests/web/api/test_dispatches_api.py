"""The dispatch API: candidates, offers with their attempts, the technician's answers and visit,
the dispatcher's override and re-offer, scoping, and racing accepts."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Incident, IncidentEvent
from tests.web.api.test_concurrency import WRITERS, _race
from tests.web.api.test_incidents_api import assert_error, create
from tests.web.api.test_technicians_api import counts


def requested(api, world):
    """An incident of org A in dispatch_requested, offered to world.technician."""
    incident = create(api, world)["id"]
    for trigger in ("start_triage", "request_dispatch"):
        response = api("desk").post(f"/api/v1/incidents/{incident}/transitions",
                                    json={"trigger": trigger})
        assert response.status_code == 200, response.json
    return incident


def dispatches(api, incident, role="dispatcher"):
    response = api(role).get(f"/api/v1/incidents/{incident}/dispatches")
    assert response.status_code == 200, response.json
    return response.json["items"]


def fire(api, role, dispatch_id, **body):
    return api(role).post(f"/api/v1/dispatches/{dispatch_id}/transitions", json=body)


def incident_state(api, incident):
    return api("admin").get(f"/api/v1/incidents/{incident}").json["state"]


def offer_of(api, incident):
    (offer,) = dispatches(api, incident)
    return offer["id"]


def assign_events(app, incident):
    with app.app_context():
        count = db.session.scalar(select(func.count(IncidentEvent.id)).where(
            IncidentEvent.incident_id == incident, IncidentEvent.trigger == "assign_technician"))
        db.session.remove()
    return count


# ---------------------------------------------------------------- candidates


def test_candidates_are_ranked_with_why_each_fits(api, world):
    incident = create(api, world)["id"]
    response = api("dispatcher").get(f"/api/v1/incidents/{incident}/candidates")
    assert response.status_code == 200, response.json
    items = response.json["items"]
    assert [(c["rank"], c["technician"]["id"]) for c in items] == [
        (1, world.technician), (2, world.other_technician)]
    assert items[0]["fit"] == {"on_call_until": "2099-12-31T00:00:00Z", "prefecture": 13,
                               "prefecture_name": "東京都", "skill": "ransomware",
                               "open_dispatches": 0}


def test_a_technician_holding_another_visit_ranks_lower(api, world):
    busy = requested(api, world)
    assert fire(api, "technician", offer_of(api, busy), trigger="accept").status_code == 200
    incident = create(api, world)["id"]
    items = api("admin").get(f"/api/v1/incidents/{incident}/candidates").json["items"]
    assert [(c["technician"]["id"], c["fit"]["open_dispatches"]) for c in items] == [
        (world.other_technician, 0), (world.technician, 1)]


def test_technicians_already_asked_are_not_candidates_again(api, world):
    incident = requested(api, world)
    items = api("dispatcher").get(f"/api/v1/incidents/{incident}/candidates").json["items"]
    assert [c["technician"]["id"] for c in items] == [world.other_technician]


@pytest.mark.parametrize("role", ["desk", "customer", "technician", "insurer"])
def test_only_dispatchers_see_candidates(api, world, role):
    incident = create(api, world)["id"]
    assert_error(api(role).get(f"/api/v1/incidents/{incident}/candidates"), 403, "forbidden")


def test_candidates_of_an_unknown_incident_are_404(api, world):
    assert_error(api("dispatcher").get("/api/v1/incidents/999999/candidates"), 404,
                 "not_found")


# ---------------------------------------------------------------- seeing dispatches


def test_the_dispatcher_sees_each_offer_with_its_timers_and_messages(api, world):
    incident = requested(api, world)
    (offer,) = dispatches(api, incident)
    assert (offer["state"], offer["technician"]["id"], offer["escalation_step"]) == (
        "offered", world.technician, 1)
    assert offer["allowed_triggers"] == ["accept", "decline", "cancel"]
    assert [(s["step"], s["action"], s["status"]) for s in offer["escalations"]] == [
        (2, "voice", "pending"), (3, "next_candidate", "pending"),
        (4, "page_dispatcher", "pending")]
    (sms,) = offer["notifications"]
    assert (sms["channel"], sms["template"], sms["status"], sms["attempts"]) == (
        "sms", "offer", "pending", 0)
    assert set(sms) >= {"provider_id", "last_error", "recipient", "max_attempts"}
    assert api("dispatcher").get(f"/api/v1/dispatches/{offer['id']}").json == offer


def test_customers_see_the_dispatch_but_not_the_attempts(api, world):
    incident = requested(api, world)
    (offer,) = dispatches(api, incident, role="customer")
    assert offer["state"] == "offered"
    assert (offer["escalations"], offer["notifications"], offer["allowed_triggers"]) == (
        None, None, [])
    assert api("customer").get(f"/api/v1/dispatches/{offer['id']}").status_code == 200
    assert_error(api("other_customer").get(f"/api/v1/incidents/{incident}/dispatches"), 404,
                 "not_found")
    assert_error(api("other_customer").get(f"/api/v1/dispatches/{offer['id']}"), 404,
                 "not_found")


def test_a_technician_sees_only_their_own_dispatches(api, world):
    incident = requested(api, world)
    mine = offer_of(api, incident)
    other = api("dispatcher").post(f"/api/v1/incidents/{incident}/reoffer", json={}).json["id"]
    assert [d["id"] for d in dispatches(api, incident, role="technician")] == [mine]
    assert [d["id"] for d in dispatches(api, incident, role="other_technician")] == [other]
    assert_error(api("technician").get(f"/api/v1/dispatches/{other}"), 404, "not_found")
    assert api("technician").get(f"/api/v1/dispatches/{mine}").json["notifications"]


def test_another_technicians_dispatch_is_404_and_untouched(app, api, world):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    before = counts(app)
    assert_error(api("other_technician").get(f"/api/v1/dispatches/{offer}"), 404, "not_found")
    assert_error(api("other_technician").get(f"/api/v1/incidents/{incident}/dispatches"), 404,
                 "not_found")
    for trigger in ("accept", "decline"):
        assert_error(fire(api, "other_technician", offer, trigger=trigger, reason="busy"), 404,
                     "not_found")
    assert counts(app) == before


def test_my_open_offers_and_active_visits(api, world):
    first, second = requested(api, world), requested(api, world)
    offer_one, offer_two = offer_of(api, first), offer_of(api, second)
    assert fire(api, "technician", offer_two, trigger="accept").status_code == 200
    mine = api("technician").get("/api/v1/dispatches?mine=1").json["items"]
    assert [(d["id"], d["state"]) for d in mine] == [(offer_two, "accepted"),
                                                    (offer_one, "offered")]
    assert api("other_technician").get("/api/v1/dispatches?mine=1").json["items"] == []
    assert fire(api, "technician", offer_one, trigger="decline",
                reason="遠方のため").status_code == 200
    mine = api("technician").get("/api/v1/dispatches?mine=true").json["items"]
    assert [d["id"] for d in mine] == [offer_two]
    everyone = api("dispatcher").get("/api/v1/dispatches").json["items"]
    assert {d["technician"]["id"] for d in everyone} == {world.technician,
                                                         world.other_technician}


def test_mine_is_for_technicians_and_lists_are_for_staff(api, world):
    assert_error(api("dispatcher").get("/api/v1/dispatches?mine=1"), 403, "forbidden")
    for role in ("customer", "insurer"):
        assert_error(api(role).get("/api/v1/dispatches"), 403, "forbidden")
    assert_error(api("technician").get("/api/v1/dispatches?mine=maybe"), 422,
                 "validation_error")


# ---------------------------------------------------------------- answering and the visit


def test_accepting_assigns_the_technician_and_stops_the_timers(app, api, world):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    response = fire(api, "technician", offer, trigger="accept")
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["allowed_triggers"]) == (
        "accepted", ["depart"])
    assert {s["status"] for s in response.json["escalations"]} == {"cancelled"}
    assert incident_state(api, incident) == "technician_assigned"
    assert assign_events(app, incident) == 1


def test_the_visit_moves_the_incident_to_completion(api, world):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    for trigger, state in (("accept", "technician_assigned"), ("depart", "en_route"),
                           ("arrive", "on_site")):
        assert fire(api, "technician", offer, trigger=trigger).status_code == 200
        assert incident_state(api, incident) == state
    done = fire(api, "technician", offer, trigger="complete", work_report="LAN から隔離し調査",
                signoff_name="田中 一郎")
    assert done.status_code == 200, done.json
    assert (done.json["state"], done.json["work_report"], done.json["signoff_name"]) == (
        "completed", "LAN から隔離し調査", "田中 一郎")
    assert done.json["departed_at"] and done.json["arrived_at"] and done.json["completed_at"]
    assert incident_state(api, incident) == "onsite_completed"
    templates = {n["template"] for n in done.json["notifications"]}
    assert {"customer_en_route", "customer_arrived"} <= templates


@pytest.mark.parametrize(("body", "field"), [
    ({"work_report": "done"}, "signoff_name"),
    ({"signoff_name": "田中"}, "work_report"),
    ({"work_report": "  ", "signoff_name": "田中"}, "work_report"),
])
def test_completing_needs_a_work_report_and_a_signoff(app, api, world, body, field):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    for trigger in ("accept", "depart", "arrive"):
        fire(api, "technician", offer, trigger=trigger)
    before = counts(app)
    response = fire(api, "technician", offer, trigger="complete", **body)
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["field"] == field
    assert counts(app) == before


def test_declining_offers_the_next_candidate(api, world):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    response = fire(api, "technician", offer, trigger="decline", reason="別件対応中")
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["decline_reason"]) == ("declined", "別件対応中")
    items = dispatches(api, incident)
    assert [(d["technician"]["id"], d["state"]) for d in items] == [
        (world.technician, "declined"), (world.other_technician, "offered")]


def test_a_decline_needs_a_reason(app, api, world):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    before = counts(app)
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        response = fire(api, "technician", offer, trigger="decline", **body)
        assert_error(response, 422, "validation_error")
        assert response.json["error"]["details"]["field"] == "reason"
    assert counts(app) == before


def test_an_answered_offer_is_closed(app, api, world):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    fire(api, "technician", offer, trigger="accept")
    before = counts(app)
    for body in ({"trigger": "accept"}, {"trigger": "decline", "reason": "x"},
                 {"trigger": "arrive"}):
        response = fire(api, "technician", offer, **body)
        assert_error(response, 409, "offer_closed")
        assert response.json["error"]["details"]["state"] == "accepted"
    assert counts(app) == before


@pytest.mark.parametrize("body", [
    {"trigger": "fly"}, {"trigger": None}, {}, {"trigger": "accept", "reason": 42},
    {"trigger": "accept", "colour": "red"}, {"trigger": "expire"},
    {"trigger": "complete", "work_report": "x" * 20001},
])
def test_bad_transition_bodies_are_422(app, api, world, body):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    before = counts(app)
    assert_error(api("technician").post(f"/api/v1/dispatches/{offer}/transitions", json=body),
                 422, "validation_error")
    assert counts(app) == before


@pytest.mark.parametrize("role", ["desk", "customer", "insurer"])
def test_roles_that_do_not_go_on_site_may_not_answer(app, api, world, role):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    before = counts(app)
    assert_error(fire(api, role, offer, trigger="accept"), 403, "forbidden")
    assert counts(app) == before


def test_a_technician_may_not_cancel_a_dispatch(app, api, world):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    before = counts(app)
    assert_error(fire(api, "technician", offer, trigger="cancel", reason="x"), 403,
                 "forbidden")
    assert counts(app) == before


@pytest.mark.parametrize("whose", ["another", "missing"])
def test_a_technicians_cancel_is_refused_by_role_before_any_lookup(app, api, world, whose):
    """The refusal is the role's (403), the same for a dispatch they cannot see or that
    does not exist: cancelling is never theirs to do."""
    incident = requested(api, world)
    offer = offer_of(api, incident) if whose == "another" else 999999
    before = counts(app)
    assert_error(fire(api, "other_technician", offer, trigger="cancel", reason="x"), 403,
                 "forbidden")
    assert counts(app) == before


def test_unknown_dispatches_are_404_and_no_token_is_401(app, api, world):
    before = counts(app)
    assert_error(api("dispatcher").get("/api/v1/dispatches/999999"), 404, "not_found")
    assert_error(fire(api, "dispatcher", 999999, trigger="accept"), 404, "not_found")
    assert_error(api(None).get("/api/v1/dispatches"), 401, "unauthorized")
    assert_error(api(None).get("/api/v1/incidents/1/dispatches"), 401, "unauthorized")
    assert_error(fire(api, None, 1, trigger="accept"), 401, "unauthorized")
    assert counts(app) == before


# ---------------------------------------------------------------- the dispatcher's hand


def test_the_dispatcher_cancels_an_accepted_visit_and_the_incident_waits_again(api, world):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    fire(api, "technician", offer, trigger="accept")
    response = fire(api, "dispatcher", offer, trigger="cancel", reason="車両故障")
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["cancel_reason"]) == ("cancelled", "車両故障")
    assert incident_state(api, incident) == "dispatch_requested"


def test_a_cancel_needs_a_reason(app, api, world):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    before = counts(app)
    assert_error(fire(api, "dispatcher", offer, trigger="cancel"), 422, "validation_error")
    assert counts(app) == before


def test_override_withdraws_open_offers_and_asks_the_chosen_technician(api, world):
    incident = requested(api, world)
    first = offer_of(api, incident)
    response = api("dispatcher").post(f"/api/v1/incidents/{incident}/dispatches", json={
        "technician_id": world.other_technician, "reason": "現場に近い"})
    assert response.status_code == 201, response.json
    assert (response.json["technician"]["id"], response.json["state"]) == (
        world.other_technician, "offered")
    assert [s["action"] for s in response.json["escalations"]] == ["voice", "next_candidate"]
    assert [n["channel"] for n in response.json["notifications"]] == ["sms"]
    withdrawn = api("dispatcher").get(f"/api/v1/dispatches/{first}").json
    assert (withdrawn["state"], withdrawn["cancel_reason"]) == ("cancelled",
                                                                "dispatcher override")
    timeline = api("dispatcher").get(f"/api/v1/incidents/{incident}").json["timeline"]
    assert "現場に近い" in [e["note"] for e in timeline]
    accepted = fire(api, "other_technician", response.json["id"], trigger="accept")
    assert accepted.status_code == 200
    assert incident_state(api, incident) == "technician_assigned"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"technician_id": 999999}, 422, "validation_error"),
    ({"technician_id": "one"}, 422, "validation_error"),
    ({"technician_id": 0}, 422, "validation_error"),
    ({}, 422, "validation_error"),
    ({"technician_id": 1, "reason": 5}, 422, "validation_error"),
])
def test_bad_overrides_change_nothing(app, api, world, body, status, code):
    incident = requested(api, world)
    before = counts(app)
    assert_error(api("dispatcher").post(f"/api/v1/incidents/{incident}/dispatches", json=body),
                 status, code)
    assert counts(app) == before


def test_an_inactive_technician_cannot_be_chosen(app, api, world, client):
    incident = requested(api, world)
    client.patch(f"/api/v1/technicians/{world.other_technician}", json={"active": False},
                 headers={"Authorization": f"Bearer {world.tokens['admin']}"})
    before = counts(app)
    response = api("dispatcher").post(f"/api/v1/incidents/{incident}/dispatches",
                                      json={"technician_id": world.other_technician})
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["field"] == "technician_id"
    assert counts(app) == before


def test_override_and_reoffer_need_an_incident_waiting_for_a_technician(app, api, world):
    fresh = create(api, world)["id"]
    taken = requested(api, world)
    fire(api, "technician", offer_of(api, taken), trigger="accept")
    before = counts(app)
    for incident in (fresh, taken):
        assert_error(api("dispatcher").post(f"/api/v1/incidents/{incident}/dispatches", json={
            "technician_id": world.other_technician}), 409, "conflict")
        assert_error(api("dispatcher").post(f"/api/v1/incidents/{incident}/reoffer", json={}),
                     409, "conflict")
    assert_error(api("dispatcher").post("/api/v1/incidents/999999/reoffer", json={}), 404,
                 "not_found")
    assert counts(app) == before


@pytest.mark.parametrize("role", ["desk", "customer", "technician", "insurer"])
def test_only_dispatchers_override_or_reoffer(app, api, world, role):
    incident = requested(api, world)
    before = counts(app)
    assert_error(api(role).post(f"/api/v1/incidents/{incident}/dispatches", json={
        "technician_id": world.other_technician}), 403, "forbidden")
    assert_error(api(role).post(f"/api/v1/incidents/{incident}/reoffer", json={}), 403,
                 "forbidden")
    assert counts(app) == before


def test_reoffer_asks_the_next_candidate_then_says_none_is_left(api, world):
    incident = requested(api, world)
    response = api("dispatcher").post(f"/api/v1/incidents/{incident}/reoffer", json={})
    assert response.status_code == 201, response.json
    assert response.json["technician"]["id"] == world.other_technician
    assert [d["state"] for d in dispatches(api, incident)] == ["offered", "offered"]
    none_left = api("dispatcher").post(f"/api/v1/incidents/{incident}/reoffer", json={})
    assert_error(none_left, 409, "conflict")
    assert none_left.json["error"]["details"]["reason"] == "no_candidate"
    timeline = api("dispatcher").get(f"/api/v1/incidents/{incident}").json["timeline"]
    assert timeline[-1]["data"]["action"] == "dispatcher_paged"


def test_reoffer_takes_an_empty_json_object_only(app, api, world):
    incident = requested(api, world)
    before = counts(app)
    assert_error(api("dispatcher").post(f"/api/v1/incidents/{incident}/reoffer",
                                        json={"technician_id": 1}), 422, "validation_error")
    assert_error(api("dispatcher").post(f"/api/v1/incidents/{incident}/reoffer"), 415,
                 "unsupported_media_type")
    assert counts(app) == before


# ---------------------------------------------------------------- racing accepts


def test_twenty_concurrent_accepts_of_one_offer_one_wins(app, api, world):
    incident = requested(api, world)
    offer = offer_of(api, incident)
    headers = {"Authorization": f"Bearer {world.tokens['technician']}"}
    responses = _race(app, [
        lambda c: c.post(f"/api/v1/dispatches/{offer}/transitions", json={"trigger": "accept"},
                         headers=headers)] * WRITERS)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == WRITERS - 1, statuses
    assert {r.json["error"]["code"] for r in responses if r.status_code == 409} == {
        "offer_closed"}
    assert incident_state(api, incident) == "technician_assigned"
    assert assign_events(app, incident) == 1
    with app.app_context():
        assert db.session.get(Incident, incident).assigned_technician_id == world.technician
        db.session.remove()


def test_two_technicians_racing_for_one_incident_one_wins_the_other_is_told_it_is_taken(
        app, api, world):
    incident = requested(api, world)
    first = offer_of(api, incident)
    second = api("dispatcher").post(f"/api/v1/incidents/{incident}/reoffer", json={}).json["id"]
    tokens = {first: world.tokens["technician"], second: world.tokens["other_technician"]}

    def accept(offer):
        return lambda c: c.post(f"/api/v1/dispatches/{offer}/transitions",
                                json={"trigger": "accept"},
                                headers={"Authorization": f"Bearer {tokens[offer]}"})

    won, lost = sorted(_race(app, [accept(first), accept(second)]),
                       key=lambda r: r.status_code)
    assert (won.status_code, lost.status_code) == (200, 409), (won.json, lost.json)
    assert lost.json["error"]["code"] == "offer_closed"
    assert "taken" in lost.json["error"]["message"]
    assert assign_events(app, incident) == 1
    states = {d["id"]: d["state"] for d in dispatches(api, incident)}
    assert sorted(states.values()) == ["accepted", "cancelled"]
    assert states[won.json["id"]] == "accepted"
