"""SLA clocks: started and stopped by the lifecycle in the contract's calendar, the legal
leak clocks, and the worker paging the dispatchers once near and once in breach."""

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.timeutil import JST, to_utc_naive, utcnow
from app.extensions import db
from app.models import Contract, Dispatch, Incident, Notification, Organization, SlaClock, User
from app.services.dispatch import visits as dispatch
from app.services.incidents import leaks, sla
from app.services.incidents.intake import IntakeRequest, report_incident
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories
from tests.scenes import claims as claim_scene
from tests.scenes.notifications import work

# The claim tests' fixtures (evidence files and signing key of the test's own); the frozen
# clock, fake Twilio and test SMTP come from tests/scenes/notifications.py (a plugin).
claim_files, costed = claim_scene.claim_files, claim_scene.costed

T0 = datetime(2026, 11, 25, 1, 0)  # Wednesday 10:00 JST
MIN = timedelta(minutes=1)


def jst(*parts):
    """A Japan-time wall clock reading as stored (naive UTC)."""
    return to_utc_naive(datetime(*parts, tzinfo=JST))


def staff(world, role):
    return db.session.get(User, world.users[role])


def report(org_id, now, actor=None):
    """An incident reported at `now` through the intake service."""
    return report_incident(IntakeRequest(
        organization_id=org_id, channel="phone", category="ransomware", severity="high",
        summary="画面に身代金要求"), actor=actor, actor_label="test", now=now)


def clocks_of(incident_id):
    """{name: clock} of an incident, read fresh."""
    db.session.expire_all()
    return {c.name: c for c in db.session.scalars(
        select(SlaClock).where(SlaClock.incident_id == incident_id))}


def business_org(minutes=60):
    """An SME whose contract's desk hours are business hours, first response in `minutes`."""
    org = factories.make_organization()
    contract = db.session.scalars(select(Contract).where(
        Contract.organization_id == org.id)).one()
    contract.desk_hours, contract.sla_first_response_minutes = "business", minutes
    db.session.commit()
    return org.id


# ---------------------------------------------------------------- calendars

@pytest.mark.parametrize(("started", "due"), [
    (jst(2026, 11, 13, 17, 30), jst(2026, 11, 16, 9, 30)),  # Friday → Monday
    (jst(2026, 11, 20, 17, 30), jst(2026, 11, 24, 9, 30)),  # Monday 11/23 勤労感謝の日
    (jst(2027, 3, 19, 17, 30), jst(2027, 3, 23, 9, 30)),    # Monday 3/22 振替休日
], ids=["weekend", "national holiday", "substitute holiday"])
def test_a_business_hours_first_response_clock_skips_days_off(ctx, world, started, due):
    incident = report(business_org(60), started)
    (clock,) = incident.sla_clocks
    assert (clock.name, clock.calendar, clock.target_minutes) == ("first_response", "business",
                                                                  60)
    assert (clock.started_at, clock.due_at) == (started, due)
    assert clock.warn_at == due - 12 * MIN  # 80 % of 60 business minutes: 48 in
    assert clock.status(started + timedelta(days=1)) == "ok"  # the weekend does not count
    assert clock.status(due - 12 * MIN) == "near"
    assert clock.status(due) == "breached"


def test_a_business_hours_clock_pauses_over_the_year_end_break(ctx, world):
    incident = report(business_org(120), jst(2026, 12, 28, 17, 0))
    (clock,) = incident.sla_clocks
    assert clock.due_at == jst(2027, 1, 5, 10, 0)
    assert clock.warn_at == jst(2027, 1, 5, 9, 36)  # 96 business minutes: 60 + 36 on 1/5
    assert clock.status(jst(2027, 1, 4, 23, 0)) == "ok"  # a week later, still 60 minutes in
    assert clock.status(jst(2027, 1, 5, 9, 36)) == "near"


@pytest.mark.parametrize("started", [
    jst(2026, 11, 13, 17, 30), jst(2026, 11, 20, 17, 30), jst(2026, 12, 28, 17, 0),
    jst(2026, 11, 22, 3, 0)], ids=["friday evening", "before a holiday", "year end",
                                   "sunday night"])
def test_a_24h_clock_ignores_weekends_holidays_and_the_year_end(ctx, world, started):
    incident = report(world.org_a, started)
    (clock,) = incident.sla_clocks
    assert clock.calendar == "24h"
    assert (clock.due_at, clock.warn_at) == (started + 30 * MIN, started + 24 * MIN)


def test_a_warning_fraction_outside_zero_to_one_is_refused(app, ctx, world, monkeypatch):
    monkeypatch.setitem(app.config, "SLA_WARN_FRACTION", 1.2)
    with pytest.raises(ValueError, match="SLA_WARN_FRACTION"):
        report(world.org_a, T0)


# ---------------------------------------------------------------- the lifecycle

def requested(world, now=T0):
    """Org A's incident reported at `now`, triaged at +5 and dispatch requested at +10."""
    incident = report(world.org_a, now)
    fire_trigger(incident.id, "start_triage", staff(world, "desk"), now=now + 5 * MIN)
    fire_trigger(incident.id, "request_dispatch", staff(world, "dispatcher"),
                 now=now + 10 * MIN)
    return incident.id


def the_offer(incident_id):
    return db.session.scalars(select(Dispatch).where(
        Dispatch.incident_id == incident_id, Dispatch.state == "offered")).one()


def accept(world, incident_id, now):
    offer = the_offer(incident_id)
    role = "technician" if offer.technician_id == world.technician else "other_technician"
    dispatch.accept(offer.id, staff(world, role), now=now)
    return offer.id, staff(world, role)


def outcomes(incident_id):
    return {name: c.outcome for name, c in clocks_of(incident_id).items()}


@pytest.mark.usefixtures("claim_files")
def test_each_lifecycle_step_starts_and_stops_its_clock(ctx, world):
    incident_id = report(world.org_a, T0).id
    assert outcomes(incident_id) == {"first_response": "running"}
    fire_trigger(incident_id, "start_triage", staff(world, "desk"), now=T0 + 5 * MIN)
    assert outcomes(incident_id) == {"first_response": "met"}
    assert clocks_of(incident_id)["first_response"].stopped_at == T0 + 5 * MIN

    fire_trigger(incident_id, "request_dispatch", staff(world, "dispatcher"), now=T0 + 10 * MIN)
    clocks = clocks_of(incident_id)
    assert outcomes(incident_id) == {"first_response": "met", "acknowledgement": "running",
                                     "arrival": "running"}
    assert clocks["acknowledgement"].due_at == T0 + 40 * MIN  # 30 minutes to accept
    assert clocks["arrival"].due_at == T0 + 10 * MIN + timedelta(hours=24)

    offer_id, technician = accept(world, incident_id, T0 + 12 * MIN)
    assert outcomes(incident_id)["acknowledgement"] == "met"
    dispatch.advance(offer_id, technician, "depart", now=T0 + 20 * MIN)
    dispatch.advance(offer_id, technician, "arrive", now=T0 + 70 * MIN)
    assert outcomes(incident_id)["arrival"] == "met"
    assert clocks_of(incident_id)["arrival"].stopped_at == T0 + 70 * MIN

    dispatch.advance(offer_id, technician, "complete", now=T0 + timedelta(hours=3), params={
        "work_report": "隔離とログ保全", "signoff_name": "山田 太郎"})
    claim_clock = clocks_of(incident_id)["claim_submission"]
    assert (claim_clock.calendar, claim_clock.outcome) == ("business", "running")
    assert claim_clock.due_at == jst(2026, 12, 9, 13, 0)  # 10 business days from 13:00 JST

    costed(world, incident_id, now=T0)
    fire_trigger(incident_id, "prepare_claim", staff(world, "desk"), now=T0 + timedelta(hours=6))
    fire_trigger(incident_id, "submit_claim", staff(world, "desk"), now=T0 + timedelta(hours=7))
    assert outcomes(incident_id) == dict.fromkeys(
        ("first_response", "acknowledgement", "arrival", "claim_submission"), "met")


def test_a_clock_stopped_late_is_missed(ctx, world):
    incident = report(world.org_a, T0)
    fire_trigger(incident.id, "start_triage", staff(world, "desk"), now=T0 + 31 * MIN)
    clock = clocks_of(incident.id)["first_response"]
    assert (clock.outcome, clock.stopped_at) == ("missed", T0 + 31 * MIN)
    assert clock.status(T0 + timedelta(days=9)) == "missed"  # an outcome no longer moves


def test_a_clock_stopped_exactly_at_its_due_time_is_met(ctx, world):
    incident = report(world.org_a, T0)
    fire_trigger(incident.id, "start_triage", staff(world, "desk"), now=T0 + 30 * MIN)
    assert outcomes(incident.id) == {"first_response": "met"}


def test_cancelling_withdraws_the_running_clocks(ctx, world):
    incident_id = requested(world)
    fire_trigger(incident_id, "cancel", staff(world, "desk"), params={"reason": "誤検知"},
                 now=T0 + 20 * MIN)
    clocks = clocks_of(incident_id)
    assert outcomes(incident_id) == {"first_response": "met", "acknowledgement": "withdrawn",
                                     "arrival": "withdrawn"}
    assert clocks["arrival"].stopped_at == T0 + 20 * MIN
    assert sla.worst_status(clocks.values(), T0 + timedelta(days=2)) is None


def test_cancelling_a_received_incident_is_its_first_response(ctx, world):
    incident = report(world.org_a, T0)
    fire_trigger(incident.id, "cancel", staff(world, "desk"), params={"reason": "重複"},
                 now=T0 + 3 * MIN)
    assert outcomes(incident.id) == {"first_response": "met"}


def test_closing_withdraws_an_unsubmitted_claim_clock(ctx, world):
    incident = report(world.org_a, T0)
    desk = staff(world, "desk")
    fire_trigger(incident.id, "start_triage", desk, now=T0 + 5 * MIN)
    fire_trigger(incident.id, "resolve_remotely", desk, now=T0 + 60 * MIN)
    assert outcomes(incident.id)["claim_submission"] == "running"
    fire_trigger(incident.id, "close", desk, now=T0 + 90 * MIN)
    assert outcomes(incident.id) == {"first_response": "met", "claim_submission": "withdrawn"}


def test_a_released_technician_does_not_restart_the_acknowledgement_clock(ctx, world):
    incident_id = requested(world)
    offer_id, _ = accept(world, incident_id, T0 + 35 * MIN)
    dispatch.cancel_dispatch(offer_id, staff(world, "dispatcher"), "別件で出動不可",
                             now=T0 + 50 * MIN)
    assert db.session.get(Incident, incident_id).state == "dispatch_requested"
    clocks = clocks_of(incident_id)
    assert clocks["acknowledgement"].outcome == "met"
    assert clocks["acknowledgement"].stopped_at == T0 + 35 * MIN
    assert clocks["arrival"].outcome == "running"  # the customer still waits for a visit
    assert db.session.scalar(select(func.count(SlaClock.id)).where(
        SlaClock.incident_id == incident_id)) == 3


def test_an_organization_without_a_contract_gets_no_lifecycle_clocks(ctx, world):
    incident = report(world.org_b, T0)
    desk = staff(world, "desk")
    fire_trigger(incident.id, "start_triage", desk, now=T0 + 5 * MIN)
    fire_trigger(incident.id, "resolve_remotely", desk, now=T0 + 60 * MIN)
    assert clocks_of(incident.id) == {}
    assert sla.worst_status([], T0) is None


def test_the_contract_of_the_reception_day_sets_the_targets(ctx, world):
    contract = db.session.scalars(select(Contract).where(
        Contract.organization_id == world.org_a)).one()
    contract.sla_first_response_minutes, contract.sla_acknowledge_minutes = 15, 45
    db.session.commit()
    incident_id = requested(world)
    clocks = clocks_of(incident_id)
    assert clocks["first_response"].due_at == T0 + 15 * MIN
    assert clocks["acknowledgement"].due_at == T0 + 10 * MIN + 45 * MIN


# ---------------------------------------------------------------- personal-data leaks

def leak_incident(world, discovered=T0, malicious=False):
    incident = report_incident(IntakeRequest(
        organization_id=world.org_a, channel="email", category="data_leak", severity="high",
        summary="名簿の誤送信", discovered_at=discovered), actor_label="test",
        now=discovered + timedelta(hours=2))
    leaks.mark_leak(staff(world, "desk"), incident.id, malicious,
                    now=discovered + timedelta(hours=3))
    return incident.id


def test_a_marked_leak_runs_the_legal_report_clocks_from_discovery(ctx, world):
    clocks = clocks_of(leak_incident(world))
    preliminary, final = clocks["leak_preliminary"], clocks["leak_final"]
    assert (preliminary.started_at, preliminary.calendar) == (T0, "24h")
    assert (preliminary.warn_at, preliminary.due_at) == (T0 + timedelta(days=3),
                                                         T0 + timedelta(days=5))
    assert (final.warn_at, final.due_at) == (T0 + timedelta(days=23), T0 + timedelta(days=30))
    assert preliminary.status(T0 + timedelta(days=3, minutes=-1)) == "ok"
    assert preliminary.status(T0 + timedelta(days=3)) == "near"
    assert preliminary.status(T0 + timedelta(days=5)) == "breached"


def test_a_malicious_leak_has_sixty_days_for_the_final_report(ctx, world):
    final = clocks_of(leak_incident(world, malicious=True))["leak_final"]
    assert (final.warn_at, final.due_at) == (T0 + timedelta(days=53), T0 + timedelta(days=60))


def test_learning_of_malice_later_moves_the_final_deadline(ctx, world):
    incident_id = leak_incident(world)
    leaks.mark_leak(staff(world, "desk"), incident_id, True, now=T0 + timedelta(days=10))
    final = clocks_of(incident_id)["leak_final"]
    assert (final.due_at, final.outcome) == (T0 + timedelta(days=60), "running")


def test_reports_stop_the_leak_clocks_met_or_missed(ctx, world):
    incident_id = leak_incident(world)
    desk = staff(world, "desk")
    leaks.record_leak_report(desk, incident_id, "preliminary", T0 + timedelta(days=6),
                             now=T0 + timedelta(days=7))
    leaks.record_leak_report(desk, incident_id, "final", T0 + timedelta(days=29),
                             now=T0 + timedelta(days=29, hours=1))
    clocks = clocks_of(incident_id)
    assert (clocks["leak_preliminary"].outcome, clocks["leak_preliminary"].stopped_at) == (
        "missed", T0 + timedelta(days=6))
    assert (clocks["leak_final"].outcome, clocks["leak_final"].stopped_at) == (
        "met", T0 + timedelta(days=29))


def test_leak_clocks_outlive_the_closed_incident(ctx, world):
    incident_id = leak_incident(world)
    desk = staff(world, "desk")
    fire_trigger(incident_id, "start_triage", desk, now=T0 + timedelta(hours=4))
    fire_trigger(incident_id, "resolve_remotely", desk, now=T0 + timedelta(hours=5))
    fire_trigger(incident_id, "close", desk, now=T0 + timedelta(hours=6))
    assert {n: o for n, o in outcomes(incident_id).items() if n.startswith("leak")} == {
        "leak_preliminary": "running", "leak_final": "running"}


def test_an_unmarked_leak_withdraws_its_clocks_and_a_new_mark_runs_them_again(ctx, world):
    incident_id = leak_incident(world)
    desk = staff(world, "desk")
    leaks.unmark_leak(desk, incident_id, now=T0 + timedelta(days=1))
    assert outcomes(incident_id)["leak_preliminary"] == "withdrawn"
    leaks.mark_leak(desk, incident_id, False, now=T0 + timedelta(days=2))
    preliminary = clocks_of(incident_id)["leak_preliminary"]
    assert (preliminary.outcome, preliminary.stopped_at, preliminary.due_at) == (
        "running", None, T0 + timedelta(days=5))


# ---------------------------------------------------------------- the list filter

def test_the_sql_filter_agrees_with_the_worst_status(ctx, world):
    breached, near, fine = (report(world.org_a, T0 - minutes * MIN).id
                            for minutes in (31, 25, 1))
    leak = leak_incident(world, discovered=T0 - timedelta(days=4))  # its preliminary is near
    fire_trigger(leak, "start_triage", staff(world, "desk"), now=T0 - timedelta(days=3))
    both = leak_incident(world, discovered=T0 - timedelta(days=4))  # and first response late

    def ids(status):
        return set(db.session.scalars(sla.incidents_with_status(status, T0)))

    assert ids("breached") == {breached, both}
    assert ids("near") == {near, leak}
    every = sla.clocks_by_incident([breached, near, fine, leak, both])
    assert {i: sla.worst_status(every[i], T0) for i in every} == {
        breached: "breached", near: "near", fine: "ok", leak: "near", both: "breached"}


# ---------------------------------------------------------------- paging by the worker

def dispatcher_texts(fake):
    return [r.form["Body"] for r in fake.messages if r.form["To"] == "+819055550000"]


def test_the_worker_pages_the_dispatchers_once_near_and_once_in_breach(
        fake_twilio, smtp, world, ctx, clock):
    incident = report(world.org_a, T0)  # first response due T0+30, near from T0+24
    reference = incident.reference
    clock.now = T0 + 24 * MIN - timedelta(seconds=1)
    work(clock)
    assert dispatcher_texts(fake_twilio) == []
    clock.now = T0 + 24 * MIN
    for _ in range(3):
        work(clock)
    (near,) = dispatcher_texts(fake_twilio)
    assert near.startswith(f"【SLA期限間近】{reference}") and "初回対応" in near
    for minutes in (25, 29):
        clock.now = T0 + minutes * MIN
        work(clock)
    assert len(dispatcher_texts(fake_twilio)) == 1
    clock.now = T0 + 30 * MIN
    for _ in range(3):
        work(clock)
    clock.now = T0 + timedelta(hours=5)
    work(clock)
    texts = dispatcher_texts(fake_twilio)
    assert len(texts) == 2 and texts[1].startswith(f"【SLA超過】{reference}")
    assert [m.rcpt_tos for m in smtp.received] == [[world.emails["dispatcher"]]] * 2
    clock_row = clocks_of(incident.id)["first_response"]
    assert (clock_row.warned_at, clock_row.breach_paged_at) == (T0 + 24 * MIN, T0 + 30 * MIN)


def test_a_clock_first_seen_in_breach_pages_only_the_breach(fake_twilio, smtp, world, ctx,
                                                            clock):
    report(world.org_a, T0)
    clock.now = T0 + timedelta(hours=2)  # the worker was away during the warning
    work(clock)
    work(clock)
    (text,) = dispatcher_texts(fake_twilio)
    assert text.startswith("【SLA超過】")


def test_a_clock_stopped_in_time_pages_nobody(fake_twilio, smtp, world, ctx, clock):
    incident = report(world.org_a, T0)
    fire_trigger(incident.id, "start_triage", staff(world, "desk"), now=T0 + 10 * MIN)
    for minutes in (24, 30, 60, 600):
        clock.now = T0 + minutes * MIN
        work(clock)
    assert fake_twilio.messages == [] and smtp.received == []
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.template == "sla_alert")) == 0


def test_the_leak_deadline_is_paged_too(world, ctx):
    incident_id = leak_incident(world)
    fire_trigger(incident_id, "start_triage", staff(world, "desk"), now=T0 + timedelta(hours=4))
    assert sla.page_due(T0 + timedelta(days=3)) == 1
    (page,) = db.session.scalars(select(Notification).where(
        Notification.template == "sla_alert", Notification.channel == "sms")).all()
    assert "個人情報漏えいの速報" in page.body and page.incident_id == incident_id


def test_a_repeated_page_for_the_same_deadline_adds_no_second_message(world, ctx):
    incident = report(world.org_a, T0)
    assert sla.page_due(T0 + 24 * MIN) == 1
    sent = db.session.scalar(select(func.count(Notification.id)))
    clock_row = clocks_of(incident.id)["first_response"]
    clock_row.warned_at = None  # as if a second worker had not seen the first one's commit
    db.session.commit()
    assert sla.page_due(T0 + 25 * MIN) == 1
    assert db.session.scalar(select(func.count(Notification.id))) == sent


@pytest.mark.postgres
def test_two_concurrent_page_passes_page_each_clock_once(app, world, dialect, monkeypatch):
    if dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time; row locks are PostgreSQL's")
    with app.app_context():
        expected = sorted(report(world.org_a, T0).sla_clocks[0].id for _ in range(12))
        db.session.remove()
    both_looked = threading.Barrier(2, timeout=10)
    taken, paged, errors = [], [], []
    original = sla.due_pages

    def look_then_wait(now, limit=100):
        clocks = original(now, limit)  # locked until this pass commits
        taken.append([c.id for c in clocks])
        both_looked.wait()  # neither pages until both have looked
        return clocks

    def page_pass():
        with app.app_context():
            try:
                paged.append(sla.page_due(T0 + 31 * MIN))
            except Exception as exc:  # reported by the assertion below
                errors.append(exc)
            db.session.remove()

    monkeypatch.setattr(sla, "due_pages", look_then_wait)
    threads = [threading.Thread(target=page_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert sorted(taken[0] + taken[1]) == expected  # each clock taken by one pass only
    assert sum(paged) == 12
    with app.app_context():
        keys = db.session.scalars(select(Notification.dedupe_key)).all()
        assert len(keys) == 12 * 2  # the dispatcher's SMS and e-mail, once per clock
        assert db.session.scalar(select(func.count(SlaClock.id)).where(
            SlaClock.breach_paged_at.is_(None))) == 0


# ---------------------------------------------------------------- demo data

def test_the_demo_shows_a_breached_clock_a_near_one_and_a_marked_leak(app, ctx):
    from app.cli.demo import seed

    seed()
    now = utcnow()
    incidents = db.session.scalars(select(Incident)).all()
    clocks = sla.clocks_by_incident([i.id for i in incidents])
    open_status = {i.summary: sla.worst_status(clocks.get(i.id, []), now)
                   for i in incidents if i.state not in ("closed", "cancelled")}
    assert "breached" in open_status.values() and "near" in open_status.values()
    (leak,) = [i for i in incidents if i.personal_data_leak]
    assert open_status[leak.summary] == "near"
    assert seed() == 0  # idempotent
    assert db.session.scalar(select(func.count(Organization.id))) == 4
