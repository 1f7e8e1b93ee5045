"""Calls ringing at the desk number: recorded, ended by their status, shown while they last."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.errors import InvalidInput
from app.extensions import db
from app.models import Organization, PhoneCall
from app.services.incidents import calls
from app.testkit import factories

T0 = datetime(2026, 11, 25, 1, 0)  # 10:00 JST
SID = "CA" + "1" * 32


@pytest.fixture
def org(ctx):
    organization = factories.make_organization(name="甲商事", phone="+81312345678")
    db.session.commit()
    return organization


def test_a_known_caller_shows_with_organization_contract_and_open_incidents(org):
    open_one = factories.make_incident(org, summary="PCが暗号化された")
    closed = factories.make_incident(org, state="closed", summary="終わった件")
    other = factories.make_incident(factories.make_organization(), summary="他社の件")
    calls.call_started(SID, "+81312345678", now=T0)
    (live,) = calls.live_calls(T0 + timedelta(seconds=20))
    assert (live.caller, live.started_at, live.status) == ("+81312345678", "10:00:00", "ringing")
    assert live.organization == {"id": org.id, "name": "甲商事", "code": org.code}
    assert live.contract["plan"] and live.contract["onsite_support"] is True
    shown = [i["reference"] for i in live.incidents]
    assert open_one.reference in shown
    assert closed.reference not in shown and other.reference not in shown


def test_the_incident_the_phone_line_opened_names_the_organization(org):
    incident = factories.make_incident(org)
    call = calls.call_started(SID, "", incident=incident, now=T0)  # a withheld number
    assert (call.organization_id, call.incident_id, call.from_number) == (org.id, incident.id, "")


def test_an_unknown_caller_has_no_organization(org):
    calls.call_started(SID, "+819099990000", now=T0)
    (live,) = calls.live_calls(T0)
    assert (live.organization, live.contract, live.incidents) == (None, None, [])


def test_a_final_status_ends_the_call_once(org):
    calls.call_started(SID, "+81312345678", now=T0)
    calls.call_status(SID, "in-progress", now=T0 + timedelta(seconds=10))
    assert [c.status for c in calls.live_calls(T0 + timedelta(seconds=10))] == ["in-progress"]
    ended = calls.call_status(SID, "completed", now=T0 + timedelta(minutes=3))
    assert (ended.status, ended.ended_at) == ("completed", T0 + timedelta(minutes=3))
    assert calls.live_calls(T0 + timedelta(minutes=3)) == []
    again = calls.call_status(SID, "busy", now=T0 + timedelta(minutes=4))  # a late repeat
    assert (again.status, again.ended_at) == ("completed", T0 + timedelta(minutes=3))


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled", "COMPLETED"])
def test_every_final_status_ends_the_call(org, status):
    calls.call_started(SID, "+81312345678", now=T0)
    assert calls.call_status(SID, status, now=T0).ended_at == T0
    assert calls.live_calls(T0) == []


def test_an_unknown_status_is_refused_and_changes_nothing(org):
    calls.call_started(SID, "+81312345678", now=T0)
    with pytest.raises(InvalidInput) as info:
        calls.call_status(SID, "exploded", now=T0)
    assert info.value.details["field"] == "CallStatus"
    db.session.rollback()
    call = db.session.scalars(select(PhoneCall)).one()
    assert (call.status, call.ended_at) == ("ringing", None)


def test_the_same_call_posted_again_is_recorded_once(org):
    first = calls.call_started(SID, "+81312345678", now=T0)
    second = calls.call_started(SID, "+81312345678", now=T0 + timedelta(seconds=1))
    assert first.id == second.id
    assert db.session.scalar(select(func.count()).select_from(PhoneCall)) == 1


def test_a_status_for_an_unrecorded_call_is_none(org):
    assert calls.call_status("CA" + "9" * 32, "completed", now=T0) is None
    assert calls.call_started("", "+81312345678", now=T0) is None  # no CallSid: no record


def test_a_call_whose_end_never_came_stops_showing_after_a_while(org):
    calls.call_started(SID, "+81312345678", now=T0)
    assert len(calls.live_calls(T0 + calls.LIVE_FOR)) == 1
    assert calls.live_calls(T0 + calls.LIVE_FOR + timedelta(seconds=1)) == []


def test_several_calls_show_oldest_first(org):
    calls.call_started("CA" + "2" * 32, "+819099990000", now=T0 + timedelta(seconds=5))
    calls.call_started(SID, "+81312345678", now=T0)
    assert [c.caller for c in calls.live_calls(T0 + timedelta(seconds=6))] == [
        "+81312345678", "+819099990000"]
    assert db.session.get(Organization, org.id).name == "甲商事"
