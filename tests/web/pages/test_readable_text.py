"""What people read is in words: no codes, field names or UTC stamps on any page, message or
document of the demo data, in Japanese and in English.

The demo data (`flask seed-demo`, app/cli/demo.py) is loaded once for the module; every role
visits every page of the route table it may use (tests/isolation/routes.py says which), with
the demo's ids, in both languages; every message template is rendered with the contexts the
demo's outbox stored (and, for the templates the demo does not send, with the context the
sending code builds, from the demo's rows); the claim packet's claim.pdf and the monthly
report's PDF are read back as text. Each text fails on a snake_case code (`claim_acknowledged`),
a dotted field name (`incident.state`) or an ISO 8601 / UTC time (`2026-12-06T04:40:26Z`).
"""

import html.parser
import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select

from app.cli import demo
from app.domain.timeline import ITEM_LABELS
from app.domain.timeutil import to_jst
from app.extensions import db
from app.models import (
    Alert,
    Claim,
    Contract,
    Dispatch,
    Incident,
    IngestKey,
    InsurancePolicy,
    Insurer,
    MonthlyReport,
    Notification,
    OnCallShift,
    Organization,
    Technician,
)
from app.testkit.helpers import csrf_token
from notifications.outbox import render_message
from tests.conftest import empty_database
from tests.isolation.routes import ROUTES
from tests.scenes.dispatch import offer_token

ROLES = ("customer", "desk", "dispatcher", "technician", "insurer", "admin")
LANGUAGES = ("ja", "en")
MESSAGES = Path(__file__).resolve().parents[3] / "templates" / "messages"

# ---------------------------------------------------------------- what may not be read

SNAKE = re.compile(r"(?<![A-Za-z0-9_])[a-z]+_[a-z_]+(?![A-Za-z0-9_])")
DOTTED = re.compile(r"(?<![A-Za-z0-9_.])[a-z]+\.[a-z_]+(?![A-Za-z0-9_.])")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
UTC_TIME = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|\+00:00)")
# Legitimately visible text that looks like one: addresses, links, file names.
ALLOWED = [re.compile(p) for p in (
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail addresses
    r"https?://\S+",  # links
    r"[\w-]+\.(?:png|jpe?g|txt|pdf|zip|json|sig|csv|heic)\b",  # file names
    r"(?<![\w.])(?:claim|manifest)\.(?:json|pdf|sig)\b",
)]


def offenders(text):
    """The codes, field names and machine times in a text people read."""
    for allowed in ALLOWED:
        text = allowed.sub(" ", text)
    return sorted({m.group(0) for pattern in (SNAKE, DOTTED, ISO_TIME, UTC_TIME)
                   for m in pattern.finditer(text)})


class _Visible(html.parser.HTMLParser):
    """The text a browser shows: no tags, scripts or styles; of the attributes, only those
    shown to people (placeholders, tooltips, image and button texts)."""

    # <code> holds literals a professional needs verbatim (a sensor's own field name, a
    # SHA-256): shown as such, not as words of ours.
    HIDDEN = {"script", "style", "template", "head", "code"}
    SHOWN = ("placeholder", "title", "alt", "aria-label")  # attributes people read

    def __init__(self):
        super().__init__()
        self.parts, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._hidden += 1
        attributes = dict(attrs)
        shown = [attributes.get(name) for name in self.SHOWN]
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            shown.append(attributes.get("value"))
        self.parts.extend(text for text in shown if text)
        if tag == "title":
            self._hidden -= 1  # the window title is read

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self._hidden -= 1
        if tag == "title":
            self._hidden += 1

    def handle_data(self, data):
        if self._hidden <= 0:
            self.parts.append(data)


def visible_text(page):
    parser = _Visible()
    parser.feed(page)
    return " ".join(parser.parts)


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_checks_catch_what_people_stumbled_over():
    assert offenders("保険会社から claim_acknowledged の通知") == ["claim_acknowledged"]
    assert offenders("paid_on: 2026-12-26 work_report: x") == ["paid_on", "work_report"]
    assert offenders("発見 2026-12-06T04:40:26.795104Z") == ["04:40:26.795104Z",
                                                          "2026-12-06T04:40"]
    assert offenders("state: incident.state") == ["incident.state"]
    assert offenders("desk@demo.example https://x.example/a_b investigation_receipt.txt "
                     "2026-12-06 13:40 JST ¥357,000 FG-IPS-PORTSCAN") == []


# ---------------------------------------------------------------- the demo, once


@pytest.fixture(autouse=True)
def fresh_database():
    """Replaces the suite's emptying before every test: the module reads one demo world."""
    yield


@pytest.fixture(scope="module")
def ids(app):
    """The demo data, seeded once, and the ids its pages are visited with."""
    with app.app_context(), pytest.MonkeyPatch.context() as patch:
        # The demo's six weeks of sensor noise are a thousand ingests; one daily sensor
        # makes the same pages (alerts, last month's report) in a fraction of the time.
        patch.setattr(demo, "SENSORS", [s for s in demo.SENSORS if s[7] == 24])
        empty_database()
        demo.seed()
        first = lambda model: db.session.scalars(select(model.id).order_by(model.id)).first()  # noqa: E731
        settled = db.session.scalars(select(Incident).where(
            Incident.summary == demo.CLAIM_STORIES[0]["summary"])).one()
        claim = db.session.scalars(select(Claim).where(Claim.incident_id == settled.id)).one()
        offered = db.session.scalars(select(Dispatch).where(Dispatch.state == "offered")
                                     .order_by(Dispatch.id)).first()
        report = db.session.scalars(select(MonthlyReport)).first()
        values = {
            "incidents": db.session.scalars(select(Incident.id).order_by(Incident.id)).all(),
            "incident_id": settled.id, "claim_id": claim.id, "version": 1,
            "dispatch_id": settled.dispatches[0].id,
            "evidence_id": settled.evidence[0].id,
            "organization_id": settled.organization_id,
            "contract_id": first(Contract), "policy_id": first(InsurancePolicy),
            "insurer_id": first(Insurer), "technician_id": first(Technician),
            "shift_id": first(OnCallShift), "alert_id": first(Alert), "key_id": first(IngestKey),
            "month": report.month if report else to_jst(settled.discovered_at).strftime("%Y-%m"),
            "report_organization_id": report.organization_id if report else first(Organization),
            "offered_dispatch_id": offered.id if offered else None,
        }
        db.session.remove()
    if values["offered_dispatch_id"]:
        values["token"] = offer_token(app, values["offered_dispatch_id"])
    return values


def logged_in(app, role, language):
    """A test client of its own, logged in as the demo's user of `role`, in `language`."""
    client = app.test_client()
    client.set_cookie("lang", language)
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": f"{role}@demo.example",
                                           "password": demo.DEMO_PASSWORD, "csrf_token": token},
                           headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 302, response.text
    return client


# ---------------------------------------------------------------- pages

# GET pages visited with a value that is not an object id of the demo.
QUERIES = {"reports.report": "report", "reports.pdf": "report",
           "dashboard.incidents": {"metric": "received"}}
# Pages that are not for reading: files of the demo's users, data exports for machines.
NOT_READ = {
    "desk.evidence_file": "the evidence file as uploaded (the customer's own bytes)",
    "dashboard.liaison_export": "a CSV for the IPA liaison whose column names are fixed",
    "public.set_language": "a redirect that sets the language cookie",
    "admin.home": "a redirect to the technicians",
}


def page_rules(app):
    """Every GET page of the route table: no API, webhook or static file."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" in rule.methods and not rule.rule.startswith(("/api/", "/webhooks/", "/static")) \
                and rule.endpoint in ROUTES and rule.endpoint not in NOT_READ:
            yield rule


def paths_of(rule, ids, role):
    """The paths to visit for a rule: the demo's ids (every incident for the desk)."""
    if rule.endpoint == "technician.link":
        return [f"/a/{ids['token']}"] if ids.get("token") else []
    values = {name: ids[name] for name in rule.arguments}
    if rule.endpoint == "desk.incident" and role == "desk":
        return [rule.build({"incident_id": i})[1] for i in ids["incidents"]]
    path = rule.build(values)[1]
    query = QUERIES.get(rule.endpoint)
    if query == "report":
        query = {"organization_id": ids["report_organization_id"]}
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return [path]


def readable(response):
    """The text a person reads of a response: a page's text, a PDF's, a packet's claim.pdf."""
    kind = response.mimetype
    if kind == "text/html":
        return visible_text(response.text)
    if kind == "application/pdf":
        return pdf_text(response.data)
    if kind == "application/zip":
        with zipfile.ZipFile(io.BytesIO(response.data)) as packet:
            return pdf_text(packet.read("claim.pdf"))
    raise AssertionError(f"a page of an unexpected type: {kind}")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", (None, *ROLES))
def test_every_page_reads_in_words(app, ids, role, language):
    client = logged_in(app, role, language) if role else app.test_client()
    if not role:
        client.set_cookie("lang", language)
    found, visited, kinds = {}, 0, set()
    for rule in page_rules(app):
        route = ROUTES[rule.endpoint]
        if not (route.public or role in route.roles):
            continue
        for path in paths_of(rule, ids, role):
            response = client.get(path, headers={"Sec-Fetch-Site": "same-origin"})
            assert response.status_code in (200, 302), (path, response.status_code)
            if response.status_code == 302:
                continue
            visited += 1
            kinds.add(response.mimetype)
            text = readable(response)
            response.close()  # a file sent from disk (a report's PDF) is closed
            bad = offenders(text)
            if bad:
                found[path] = bad
    assert visited >= 3
    # The documents were read too: the monthly report's PDF, the claim packet's claim.pdf.
    assert "application/pdf" in kinds or role not in ("customer", "desk")
    assert "application/zip" in kinds or role != "insurer"
    assert not found, f"codes, field names or UTC times that {role or 'anyone'} reads " \
                      f"({language}): {found}"


def test_the_insurer_reads_the_story_but_not_the_desks_own_note(app, ids):
    client = logged_in(app, "insurer", "ja")
    claim_page = client.get(f"/insurer/claims/{ids['claim_id']}").text
    incident_page = client.get(f"/desk/incidents/{ids['incident_id']}").text
    home = client.get("/insurer/").text
    for page in (claim_page, incident_page):
        assert demo.SHARED_NOTE in page
        assert demo.DESK_NOTE not in page
        assert "技術者 佐藤 健 が駆付けを受諾しました" in page
        assert "保険会社が請求の受領を確認しました" in page
    assert "確認済み: " in home and demo.SHARED_NOTE in home and demo.DESK_NOTE not in home
    desk_page = logged_in(app, "desk", "ja").get(f"/desk/incidents/{ids['incident_id']}").text
    assert demo.DESK_NOTE in desk_page and demo.SHARED_NOTE in desk_page


# ---------------------------------------------------------------- messages

# The context the sending code builds, for the templates the demo sends none of.
def extra_contexts(app, ids):
    with app.app_context():
        incident = db.session.get(Incident, ids["incident_id"])
        base = {"reference": incident.reference, "organization": incident.organization.name,
                "summary": incident.summary, "url": "https://kaketsuke.example/desk/incidents/1"}
        due = to_jst(incident.created_at + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")
        recording = {"sid": "RE1", "url": "https://api.twilio.example/rec/RE1",
                     "duration": 42, "caller": "+81312345678"}
        contexts = {
            "claim_info_requested": base | {"message": "作業報告書の写しをお送りください。"},
            "dispatcher_page": base | {"reason": "no_candidate"},
            "sla_alert": base | {"clock": "first_response", "level": "breached", "due_at": due},
            "voicemail": recording | {"time": due},
            "recording": recording,
            "phone_intake": {"caller": "+81312345678"},
            "incoming_registered": {"organization": incident.organization.name,
                                    "year_digits": list("2026"), "number_digits": list("12"),
                                    "desk": True},
        }
        db.session.remove()
    return contexts


def demo_contexts(app):
    """{template: the contexts the demo's outbox stored for it}."""
    with app.app_context():
        rows = db.session.execute(select(Notification.template, Notification.context)).all()
        db.session.remove()
    contexts = {}
    for template, context in rows:
        contexts.setdefault(template, []).append(context)
    return contexts


# Message templates that are not read by a person.
NOT_MESSAGES = {"insurer_event": "the webhook's JSON body, read by the insurer's system"}


def test_every_message_reads_in_words(app, ids):
    stored, extra = demo_contexts(app), extra_contexts(app, ids)
    merged = {k: v for contexts in stored.values() for c in contexts for k, v in c.items()}
    found, rendered = {}, 0
    for language in LANGUAGES:
        for path in sorted((MESSAGES / language).glob("*.txt")):
            template, channel = path.name.split(".")[:2]
            if channel == "subject" or template in NOT_MESSAGES:
                continue
            for context in stored.get(template) or [extra.get(template, merged)]:
                with app.test_request_context():
                    subject, body = render_message(template, channel, language, context)
                rendered += 1
                bad = offenders(f"{subject}\n{body}")
                if bad:
                    found[f"{language}/{path.name}"] = bad
    assert rendered > 60
    assert not found, f"codes, field names or UTC times in messages: {found}"


def test_the_early_notice_tells_the_triage_and_only_the_shared_notes(app, ids):
    with app.app_context():
        bodies = db.session.scalars(select(Notification.body).where(
            Notification.template == "insurer_early_notice")).all()
        db.session.remove()
    with app.test_request_context(), force_locale("ja"):
        isolated = f"確認済み: {ITEM_LABELS['isolate']}"
    assert bodies
    for body in bodies:
        assert isolated in body, body
        assert demo.SHARED_NOTE in body and demo.DESK_NOTE not in body
        assert "技術者 佐藤 健 が駆付けを受諾しました" in body
        assert "offered" not in body and "T0" not in body
