"""Pages of many rows cost a fixed number of SQL statements, and batching changes no answer.

The dispatcher's board and the desk's list load what their rows show with the page (no
statement per row, issue 6); the board's candidates are ranked for every waiting incident
at once (offers.candidates_by_incident), exactly as one incident at a time would be.
"""

from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Dispatch, Organization, Technician, User
from app.services.dispatch import offers
from app.services.dispatch.visits import cancel_dispatch
from app.testkit import factories
from tests.scenes.dispatch import dispatches_of, requested_incident

NOW = datetime(2026, 11, 25, 1, 0)  # 10:00 JST
ON_CALL = (NOW - timedelta(hours=2), NOW + timedelta(hours=8))


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def counted(app):
    """The queries sent while the block runs, as a list of their texts (SQLite's explicit
    BEGIN IMMEDIATE and the like are left out: PostgreSQL's driver sends none)."""
    with app.app_context():
        engine = db.engine
    sent = []

    def record(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def add_board_rows(app, world, times):
    """`times` incidents in each board situation: an open offer with its timers and clocks,
    a withdrawn offer (nothing open), an accepted visit, a technician on the way, on site."""
    for _ in range(times):
        requested_incident(app, world, summary="オファー中")
        withdrawn = requested_incident(app, world, summary="オファー取消")
        with app.app_context():
            cancel_dispatch(dispatches_of(app, withdrawn)[0][0],
                            db.session.get(User, world.users["dispatcher"]), "取り下げ")
            org = db.session.get(Organization, world.org_a)
            for state in ("technician_assigned", "en_route", "on_site"):
                factories.make_incident(org, state=state, summary=state,
                                        technician=db.session.get(Technician,
                                                                  world.other_technician))
            db.session.remove()


def board_statements(app, client):
    with counted(app) as sent:
        page = client.get("/dispatch/?lang=en")
    assert page.status_code == 200
    return len(sent), page.text.count('class="card board-row"')


def test_the_board_costs_the_same_statements_for_five_rows_and_for_twenty(
        app, client, world, login):
    add_board_rows(app, world, 1)
    login(world.emails["dispatcher"])
    few = board_statements(app, client)
    add_board_rows(app, world, 3)
    many = board_statements(app, client)
    assert (few[1], many[1]) == (5, 20)
    # the user, the page with organizations and request times, its live dispatches with
    # technicians and timers, the SLA clocks, on-call technicians with their load, and who
    # was asked for which incident
    assert few[0] == many[0] == 6


def test_the_desk_list_costs_the_same_statements_for_one_row_and_for_fifty(
        app, client, world, login):
    def add_received(n):
        with app.app_context():
            org = db.session.get(Organization, world.org_a)  # covered: each gets a clock
            for _ in range(n):
                factories.make_incident(org, summary="受付")
            db.session.remove()

    def desk_statements():
        with counted(app) as sent:
            page = client.get("/desk/?state=received&lang=en")
        assert page.status_code == 200
        return len(sent), page.text.count("<tr data-reference="), \
            page.text.count('data-clock="first_response"')

    add_received(1)
    login(world.emails["desk"])
    few = desk_statements()
    add_received(55)
    many = desk_statements()
    assert (few[1:], many[1:]) == ((1, 1), (50, 50))  # a page of 50, each with its clock
    # the user, the page with organizations, the clocks
    assert few[0] == many[0] == 3


# ---------------------------------------------------------------- batched candidates


@pytest.fixture
def varied(ctx):
    """Incidents of several prefectures and categories, and technicians who fit some: off
    shift, inactive, without the skill or the prefecture, loaded with visits, already asked.
    Returns (the waiting incidents, the technicians)."""
    tokyo = factories.make_organization(prefecture=13)
    osaka = factories.make_organization(prefecture=27)
    kanagawa = factories.make_organization(prefecture=14)
    hokkaido = factories.make_organization(prefecture=1)  # nobody serves it
    ended = (NOW - timedelta(hours=9), NOW - timedelta(hours=1))
    techs = [
        factories.make_technician(prefectures=[13, 14], on_call=ON_CALL),
        factories.make_technician(prefectures=[13], on_call=ON_CALL, skills=["ransomware"]),
        factories.make_technician(prefectures=[27, 13], on_call=ON_CALL),
        factories.make_technician(prefectures=[27], on_call=ON_CALL, skills=["malware", "dos"]),
        factories.make_technician(prefectures=[14], on_call=ON_CALL),
        factories.make_technician(prefectures=[13, 27, 14], on_call=ended),
        factories.make_technician(prefectures=[13, 27, 14], on_call=ON_CALL, active=False),
        factories.make_technician(prefectures=[13, 27, 14], on_call=ON_CALL),
        factories.make_technician(prefectures=[13, 27, 14]),  # never on call
    ]
    waiting = [factories.make_incident(org, state="dispatch_requested", category=category)
               for org, category in [
                   (tokyo, "ransomware"), (tokyo, "malware"), (osaka, "malware"),
                   (osaka, "dos"), (kanagawa, "phishing_bec"), (kanagawa, "ransomware"),
                   (tokyo, "insider"), (hokkaido, "malware")]]
    # Load: the first technician holds two visits, the third one; ties fall back to the id.
    for tech in (techs[0], techs[0], techs[2]):
        factories.make_incident(tokyo, state="en_route", technician=tech)
    # Asked already: declined, expired, an open offer; a withdrawn offer does not count.
    for incident, tech, state in [(waiting[0], techs[1], "declined"),
                                  (waiting[2], techs[2], "expired"),
                                  (waiting[5], techs[7], "offered"),
                                  (waiting[1], techs[7], "cancelled")]:
        db.session.add(Dispatch(incident_id=incident.id, technician_id=tech.id, state=state))
    db.session.commit()
    return waiting, techs


def test_candidates_of_many_incidents_at_once_are_each_ones_own(varied):
    waiting, techs = varied
    one_at_a_time = {incident.id: offers.candidates(incident, NOW) for incident in waiting}
    needs = [(i.id, i.organization.prefecture, i.category) for i in waiting]
    assert offers.candidates_by_incident(needs, NOW) == one_at_a_time
    assert offers.candidates_by_incident([], NOW) == {}
    # The fixture means something: the lists differ, one is empty, the least loaded come
    # first, a withdrawn offer does not leave its technician out and an open one does.
    assert len({tuple(t.id for t in ranked) for ranked in one_at_a_time.values()}) >= 6
    assert one_at_a_time[waiting[7].id] == []
    assert one_at_a_time[waiting[1].id] == [techs[7], techs[2], techs[0]]
    assert one_at_a_time[waiting[5].id] == [techs[4], techs[0]]
