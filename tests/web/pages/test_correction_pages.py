"""The desk's correction form, links and 電話受付's recent calls and voicemail (issue 13)."""

from datetime import timedelta

from sqlalchemy import select

from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import Incident, IncidentLink, OrganizationPhone, Voicemail
from app.services.incidents import phone_line
from app.testkit import factories
from app.testkit.helpers import csrf_token, row_counts

ORG_A_PHONE = "+81312345678"  # the world's organization A registered this number


def _call(app, caller=ORG_A_PHONE, now=None):
    with app.app_context():
        incident = phone_line.report_call(caller, now=now)
        ids = (incident.id, incident.reference, incident.version)
        db.session.remove()
    return ids


def _incident(app, incident_id):
    with app.app_context():
        row = db.session.get(Incident, incident_id)
        db.session.expunge(row)
        db.session.remove()
    return row


def _form(incident, **changes):
    """The correction form as the page fills it, with `changes` typed over it."""
    values = {"version": str(incident.version), "category": incident.category,
              "severity": incident.severity, "summary": incident.summary,
              "description": incident.description, "reporter_name": incident.reporter_name,
              "reporter_phone": incident.reporter_phone,
              "reporter_email": incident.reporter_email,
              "discovered_at": (incident.discovered_at + timedelta(hours=9)).strftime(
                  "%Y-%m-%dT%H:%M"),
              "occurred_at": "", "discovery_source": incident.discovery_source,
              "organization_id": str(incident.organization_id), "reason": ""}
    return values | changes


def _post(client, path, data, page):
    data = {"csrf_token": csrf_token(client, page)} | data
    return client.post(path, data=data, headers={"Sec-Fetch-Site": "same-origin"})


def test_a_call_on_the_desk_line_waits_to_be_completed_and_is_listed(app, world, login):
    incident_id, reference, _version = _call(app)
    assert _incident(app, incident_id).needs_completion
    client = login(world.emails["desk"])
    page = client.get("/desk/phone-intake").text
    assert reference in page and "甲商事" in page and ORG_A_PHONE in page
    assert f"/desk/incidents/{incident_id}#correct" in page


def test_old_calls_and_desk_entries_are_not_listed(app, world, login):
    old_id, old_reference, _ = _call(app, now=utcnow() - timedelta(hours=25))
    client = login(world.emails["desk"])
    with app.app_context():
        org = db.session.get(factories.Organization, world.org_a)
        typed = factories.make_incident(org, summary="desk entry").reference
        db.session.remove()
    page = client.get("/desk/phone-intake").text
    assert old_reference not in page and typed not in page


def test_completing_a_call_on_the_page(app, world, login):
    incident_id, _reference, _ = _call(app)
    client = login(world.emails["desk"])
    incident = _incident(app, incident_id)
    response = _post(client, f"/desk/incidents/{incident_id}/correct", _form(
        incident, category="ransomware", severity="critical", summary="ランサムウェア感染",
        reporter_name="山田", reporter_email="yamada@example.jp",
        discovered_at="2026-11-25T08:30", description="朝、ファイルが開けない\r\n脅迫文あり"),
        f"/desk/incidents/{incident_id}")
    assert response.status_code == 302
    after = _incident(app, incident_id)
    assert (after.category, after.severity, after.needs_completion) == (
        "ransomware", "critical", False)
    assert after.description == "朝、ファイルが開けない\n脅迫文あり"
    assert after.reporter_phone == ORG_A_PHONE  # left as it was: not re-written
    page = client.get(f"/desk/incidents/{incident_id}").text
    assert 'data-item="ransom_note"' in page
    assert "その他 → ランサムウェア" in page  # the timeline says what changed


def test_a_stale_form_changes_nothing_and_says_so(app, world, login):
    incident_id, _reference, _ = _call(app)
    client = login(world.emails["desk"])
    stale = _incident(app, incident_id)
    assert _post(client, f"/desk/incidents/{incident_id}/correct",
                 _form(stale, severity="high"), f"/desk/incidents/{incident_id}"
                 ).status_code == 302
    before = row_counts(app)
    response = _post(client, f"/desk/incidents/{incident_id}/correct",
                     _form(stale, severity="low"), f"/desk/incidents/{incident_id}")
    assert response.status_code == 302
    assert row_counts(app) == before
    assert _incident(app, incident_id).severity == "high"
    page = client.get(response.headers["Location"]).text
    assert "changed by someone else" in page


def test_completed_alone_completes_the_call(app, world, login):
    incident_id, _reference, _ = _call(app)
    client = login(world.emails["desk"])
    incident = _incident(app, incident_id)
    _post(client, f"/desk/incidents/{incident_id}/correct", _form(incident, completed="y"),
          f"/desk/incidents/{incident_id}")
    after = _incident(app, incident_id)
    assert not after.needs_completion and after.category == "other"


def test_nothing_changed_is_said_and_nothing_written(app, world, login):
    incident_id, _reference, _ = _call(app)
    client = login(world.emails["desk"])
    before = row_counts(app)
    response = _post(client, f"/desk/incidents/{incident_id}/correct",
                     _form(_incident(app, incident_id)), f"/desk/incidents/{incident_id}")
    assert row_counts(app) == before
    assert _incident(app, incident_id).needs_completion
    page = client.get(response.headers["Location"]).text
    assert "Nothing to change" in page


def test_technicians_and_insurers_get_no_correction_form(app, world, login):
    with app.app_context():
        org = db.session.get(factories.Organization, world.org_a)
        tech = db.session.get(factories.Technician, world.technician)
        incident = factories.make_incident(org, state="technician_assigned", technician=tech)
        incident_id = incident.id
        db.session.remove()
    client = login(world.emails["technician"])
    page = client.get(f"/desk/incidents/{incident_id}").text
    assert 'id="correction-form"' not in page and 'id="link-form"' not in page


def test_a_duplicate_is_merged_on_the_page(app, world, login):
    first_id, first_ref, _ = _call(app)
    second_id, _second_ref, _ = _call(app)
    client = login(world.emails["desk"])
    response = _post(client, f"/desk/incidents/{second_id}/links",
                     {"reference": first_ref.lower(), "kind": "duplicate_of"},
                     f"/desk/incidents/{second_id}")
    assert response.status_code == 302
    assert _incident(app, second_id).state == "cancelled"
    page = client.get(f"/desk/incidents/{first_id}").text
    assert f'data-other="{second_id}"' in page
    unknown = _post(client, f"/desk/incidents/{first_id}/links",
                    {"reference": "INC-1999-000001", "kind": "related"},
                    f"/desk/incidents/{first_id}")
    assert "Incident not found." in client.get(unknown.headers["Location"]).text
    with app.app_context():
        assert len(db.session.scalars(select(IncidentLink)).all()) == 1
        db.session.remove()


def _voicemail(app, caller="+819012340000", sid="RE0001"):
    with app.app_context():
        phone_line.notify_desk_of_voicemail(phone_line.Recording(
            sid=sid, url="https://api.twilio.com/rec/RE0001", duration=12, caller=caller))
        voicemail_id = db.session.scalar(select(Voicemail.id).where(Voicemail.sid == sid))
        db.session.remove()
    return voicemail_id


def test_a_voicemail_is_assigned_and_the_number_registered(app, world, login):
    voicemail_id = _voicemail(app)
    _voicemail(app)  # Twilio told twice: kept once
    client = login(world.emails["desk"])
    page = client.get("/desk/phone-intake").text
    assert "+819012340000" in page and f'data-voicemail="{voicemail_id}"' in page
    response = _post(client, f"/desk/voicemail/{voicemail_id}/assign",
                     {"organization_id": str(world.org_b), "register_number": "y"},
                     "/desk/phone-intake")
    assert response.status_code == 302 and "#correct" in response.headers["Location"]
    with app.app_context():
        voicemail = db.session.get(Voicemail, voicemail_id)
        incident = voicemail.incident
        assert (incident.organization_id, incident.reporter_phone) == (world.org_b,
                                                                        "+819012340000")
        assert incident.needs_completion
        assert any(e.data.get("recording_sid") == "RE0001" for e in incident.events)
        assert db.session.scalar(select(OrganizationPhone.organization_id).where(
            OrganizationPhone.number == "+819012340000")) == world.org_b
        db.session.remove()
    # The next call from that number names the organization.
    assert _call(app, caller="+819012340000") is not None
    page = client.get("/desk/phone-intake").text
    assert f'data-voicemail="{voicemail_id}"' not in page


def test_assigning_again_or_registering_a_taken_number_changes_nothing(app, world, login):
    taken = _voicemail(app, caller=ORG_A_PHONE, sid="RE0002")
    client = login(world.emails["desk"])
    before = row_counts(app)
    _post(client, f"/desk/voicemail/{taken}/assign",
          {"organization_id": str(world.org_b), "register_number": "y"}, "/desk/phone-intake")
    assert row_counts(app) == before
    with app.app_context():
        assert db.session.get(Voicemail, taken).incident_id is None
        db.session.remove()
    _post(client, f"/desk/voicemail/{taken}/assign", {"organization_id": str(world.org_a)},
          "/desk/phone-intake")
    after = row_counts(app)
    _post(client, f"/desk/voicemail/{taken}/assign", {"organization_id": str(world.org_a)},
          "/desk/phone-intake")
    assert row_counts(app) == after


def test_phone_intake_records_times_email_and_callback_number(app, world, login):
    client = login(world.emails["desk"])
    response = _post(client, "/desk/phone-intake", {
        "caller_phone": "03-1234-5678", "reporter_name": "田中", "organization_id":
        str(world.org_a), "category": "ransomware", "severity": "high", "summary": "暗号化",
        "callback_phone": "090-5555-6666", "reporter_email": "tanaka@example.jp",
        "discovered_at": "2026-11-25T08:30", "occurred_at": "2026-11-25T07:00"},
        "/desk/phone-intake")
    assert response.status_code == 302, response.text
    incident_id = int(response.headers["Location"].rsplit("/", 1)[1])
    incident = _incident(app, incident_id)
    assert incident.reporter_phone == "+819055556666"
    assert incident.reporter_email == "tanaka@example.jp"
    assert incident.discovered_at.strftime("%Y-%m-%d %H:%M") == "2026-11-24 23:30"
    assert incident.occurred_at.strftime("%Y-%m-%d %H:%M") == "2026-11-24 22:00"
    assert not incident.needs_completion
    with app.app_context():
        intake = db.session.get(Incident, incident_id).events[0]
        assert intake.data["caller_id"] == "+81312345678"
        db.session.remove()


def test_the_customer_s_list_names_the_reference_to_follow(app, world, login):
    first_id, first_ref, _ = _call(app)
    second_id, second_ref, _ = _call(app)
    desk = login(world.emails["desk"])
    _post(desk, f"/desk/incidents/{second_id}/links",
          {"reference": first_ref, "kind": "duplicate_of"}, f"/desk/incidents/{second_id}")
    desk.post("/logout", data={"csrf_token": csrf_token(desk, "/desk/")})
    customer = login(world.emails["customer"])
    page = customer.get("/report").text
    assert f"{first_ref} にまとめました" in page
    row = next(line for line in page.splitlines() if second_ref in line)
    assert first_ref in row


def test_two_operators_assigning_one_voicemail_make_one_incident(app, world):
    from app.services.incidents.phone_line import assign_voicemail
    from app.testkit.helpers import row_counts as counts
    from tests.web.api.test_concurrency import _race

    voicemail_id = _voicemail(app)
    before = counts(app)

    def assign(_client):
        with app.app_context():
            user = db.session.get(factories.User, world.users["desk"])
            try:
                return assign_voicemail(voicemail_id, world.org_a, user).reference
            except Exception as exc:  # noqa: BLE001 - the loser's refusal is the point
                return type(exc).__name__
            finally:
                db.session.remove()

    results = _race(app, [assign] * 4)
    assert sum(r.startswith("INC-") for r in results) == 1, results
    assert set(r for r in results if not r.startswith("INC-")) <= {"Conflict",
                                                                    "ConcurrentUpdate"}
    assert counts(app)[0] == before[0] + 1
