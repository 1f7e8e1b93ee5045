"""What one API intake sends to the database, pinned on both databases (DESIGN §8: intake
throughput against a bare insert; docs/benchmarks.md, intake "Profile and fix").

The reads come first: the token with its user (one query), the organization, its contract
of the day. Then the year's reference counter, an UPDATE returning the number and the new
incident's id; its row stays locked until the commit, so it comes as late as possible.
Then one INSERT each for the incident (its audit head included: no UPDATE follows), its
intake event and its first-response clock, and the commit. Nothing after the commit: the
answer is read before it, so a database lost at that moment cannot hide a stored incident.
"""

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import Incident, IncidentEvent, SlaClock
from app.services.incidents.audit import GENESIS, verify_chains
from app.testkit.helpers import row_counts
from tests.web.api.test_incidents_api import create, new_incident

READS = ["SELECT user+api_token", "SELECT organization", "SELECT contract"]
NUMBER = ["UPDATE reference_counter"]
WRITES = ["INSERT incident", "INSERT incident_event", "INSERT sla_clock", "COMMIT"]
ONE_INTAKE = READS + NUMBER + WRITES


def _kind(sql):
    """'SELECT user+api_token', 'INSERT incident', ...: a statement's verb and its tables."""
    verb = sql.split(None, 1)[0].upper()
    if verb == "SELECT":
        head = sql.split(" WHERE ", 1)[0]
        return "SELECT " + "+".join(re.findall(r'(?:FROM|JOIN) "?(\w+)"?', head))
    table = re.match(r'\s*(?:INSERT INTO|UPDATE|DELETE FROM) "?(\w+)"?', sql).group(1)
    return f"{verb} {table}"


@contextmanager
def recorded(app, after_commit=None):
    """The statements (by kind) and commits the app sends inside the block, in order.

    SQLite's BEGIN IMMEDIATE (app/__init__.py) starts each transaction and is left out.
    `after_commit(sql)` is called for any statement sent after a commit.
    """
    with app.app_context():
        engine = db.engine
    sent = []

    def statement(_conn, _cursor, sql, *_args):
        if sql == "BEGIN IMMEDIATE":
            return
        if after_commit is not None and "COMMIT" in sent:
            after_commit(sql)
        sent.append(_kind(sql))

    def commit(_conn):
        sent.append("COMMIT")

    listeners = (("before_cursor_execute", statement), ("commit", commit))
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield sent
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


def test_the_kinds_of_statements_are_read_correctly():
    assert _kind('SELECT "user".id FROM "user" JOIN api_token ON "user".id = api_token.user_id '
                 'WHERE api_token.token_hash = %(h)s') == "SELECT user+api_token"
    assert _kind("INSERT INTO incident (id) VALUES (?)") == "INSERT incident"
    assert _kind("UPDATE reference_counter SET last_value=(reference_counter.last_value + ?) "
                 "WHERE year = ? RETURNING last_value, (SELECT max(incident.id) FROM incident)"
                 ) == "UPDATE reference_counter"


@pytest.mark.parametrize("role", ["desk", "customer"])
def test_one_intake_sends_seven_statements_and_nothing_after_the_commit(app, api, world, role):
    create(api, world)  # the year's first intake adds its counter row (next test)
    with recorded(app) as sent:
        create(api, world, role=role)
    assert sent == ONE_INTAKE
    assert len(sent) - 1 == 7  # statements, the commit aside


@pytest.mark.parametrize("change", ["revoke the token", "deactivate the user"])
def test_the_one_token_query_still_refuses_at_once(app, api, world, change):
    """The token and its user are read together on every request, nothing cached: a
    revoked token or a deactivated user is refused on the very next request."""
    from app.models import ApiToken, User
    create(api, world)
    with app.app_context():
        if change == "revoke the token":
            for token in db.session.scalars(select(ApiToken).where(
                    ApiToken.user_id == world.users["desk"])):
                token.revoked_at = token.created_at
        else:
            db.session.get(User, world.users["desk"]).active = False
        db.session.commit()
    before = row_counts(app)
    response = api("desk").post("/api/v1/incidents", json=new_incident(world))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert row_counts(app) == before
    assert create(api, world, role="customer")["state"] == "received"  # others still can


def test_the_years_first_intake_adds_the_counter_row_and_takes_it_then(app, api, world):
    with recorded(app) as sent:
        reference = create(api, world)["reference"]
    assert sent == READS + ["UPDATE reference_counter", "INSERT reference_counter",
                            "UPDATE reference_counter"] + WRITES
    assert reference.endswith("-000001")


def test_without_a_contract_no_clock_is_inserted(app, api, world):
    create(api, world)
    with recorded(app) as sent:
        create(api, world, organization_id=world.org_b)
    assert sent == READS + NUMBER + ["INSERT incident", "INSERT incident_event", "COMMIT"]


def test_a_refused_intake_takes_no_number_and_writes_nothing(app, api, world):
    create(api, world)
    before = row_counts(app)
    with recorded(app) as sent:
        response = api("desk").post("/api/v1/incidents", json=new_incident(
            world, organization_id=world.org_b + 100))
    assert response.status_code == 422
    assert response.json["error"]["details"]["reason"] == "unknown_organization"
    assert sent == ["SELECT user+api_token", "SELECT organization"]
    assert row_counts(app) == before
    assert create(api, world)["reference"].endswith("-000002")  # no number was used up


def test_the_incident_is_stored_whole_in_its_one_insert(app, api, world):
    answer = create(api, world)
    with app.app_context():
        incident = db.session.get(Incident, answer["id"])
        events = db.session.scalars(select(IncidentEvent).where(
            IncidentEvent.incident_id == incident.id)).all()
        clocks = db.session.scalars(select(SlaClock).where(
            SlaClock.incident_id == incident.id)).all()
        assert (incident.reference, incident.state, incident.version) == (
            answer["reference"], answer["state"], answer["version"])
        assert [(e.seq, e.kind, e.prev_hash) for e in events] == [(1, "intake", GENESIS)]
        assert (incident.event_count, incident.audit_head) == (1, events[0].hash)
        assert verify_chains() is None
        assert [(c.name, c.outcome, c.started_at, c.due_at - c.started_at) for c in clocks] == [
            ("first_response", "running", incident.created_at, timedelta(minutes=30))]
        db.session.remove()


def test_the_answer_stands_when_the_database_goes_away_after_the_commit(app, api, world):
    """Nothing is read after the commit: a database lost then still gets the client its
    201 for the stored incident (a 503 would make it retry and store it twice)."""
    create(api, world)

    def gone(sql):
        raise OperationalError(sql, {}, Exception("server closed the connection unexpectedly"))

    with recorded(app, after_commit=gone):
        response = api("desk").post("/api/v1/incidents", json=new_incident(world))
    assert response.status_code == 201, response.text
    with app.app_context():
        stored = db.session.get(Incident, response.json["id"])
        assert (stored.reference, stored.version) == (response.json["reference"],
                                                     response.json["version"])
        db.session.remove()


def test_the_database_lost_after_the_commit_is_a_503_when_something_reads(app, api, world):
    """The trap above springs: a read after the commit (here the next request) fails."""
    create(api, world)

    def gone(sql):
        raise OperationalError(sql, {}, Exception("server closed the connection unexpectedly"))

    with recorded(app, after_commit=gone):
        assert api("desk").post("/api/v1/incidents", json=new_incident(world)).status_code == 201
        response = api("desk").get("/api/v1/incidents")
    assert response.status_code == 503
