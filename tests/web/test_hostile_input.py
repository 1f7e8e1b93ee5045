"""Hostile text and numbers are refused with a clear error and change nothing, never a 500.

NUL and lone surrogates (PostgreSQL and UTF-8 refuse them), JSON nested 50,000 deep, ids past
2^31-1 (INTEGER columns), money past INTEGER, and instants that overflow when moved to UTC:
on pages, in the API and on the webhooks (docs/security.md, "Hostile input"). The 500s were
found on PostgreSQL; the refusals are the same on SQLite, where these tests also run.
"""

import json

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from app.extensions import db
from app.models import Alert, CostItem, OnCallShift, Organization, RejectedPayload, User
from app.services.monitoring import ingest as ingest_service
from app.services.paging import encode_cursor
from app.testkit.helpers import csrf_token, row_counts
from tests.scenes.evidence import evidence_dir, held_incident  # noqa: F401  (a fixture)
from tests.web.api.test_incidents_api import assert_error, create, new_incident
from tests.web.pages.test_pages import incident_in, org_code, report_form
from tests.web.webhooks.helpers import TOKEN, sign

TOO_LARGE = 2**31
DEEP = 50_000
HOSTILE_TEXT = ["a\x00b", "\x00", "a\ud800b", "\udfff"]


def deep_json(depth=DEEP):
    return "[" * depth + "]" * depth


def raw_json(value):
    """A JSON text keeping lone surrogates as \\uXXXX escapes (as a client may send them)."""
    return json.dumps(value, ensure_ascii=True)


def bearer(world, role):
    return {"Authorization": f"Bearer {world.tokens[role]}"}


def counts(app):
    """Incidents, events, users, alerts and refused payloads."""
    with app.app_context():
        result = row_counts(app) + tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Alert, RejectedPayload))
        db.session.remove()
    return result


REFUSED_TEXT = "受け付けられない文字"  # "The request holds characters that are not accepted."


def assert_refused_page(response):
    """The 400 page of the boundary check (not a form shown again, nor another error)."""
    assert response.status_code == 400, response.text[:300]
    assert "text/html" in response.content_type
    assert "<h1>400</h1>" in response.text and REFUSED_TEXT in response.text


def assert_refused_api(response, reason="NUL or a lone surrogate"):
    """The API's 422 of the boundary check, naming what was refused."""
    assert_error(response, 422, "validation_error")
    assert reason in response.json["error"]["details"]["reason"]


# ---------------------------------------------------------------- NUL and lone surrogates


@pytest.mark.parametrize("text", HOSTILE_TEXT[:2])
def test_a_nul_in_the_login_email_is_a_400_page(app, client, world, text):
    token = csrf_token(client, "/login")
    before = counts(app)
    response = client.post("/login", data={"email": f"desk{text}@example.jp",
                                           "password": "x", "csrf_token": token})
    assert_refused_page(response)
    assert counts(app) == before


@pytest.mark.parametrize("field", ["customer", "reporter_name", "reporter_phone",
                                   "reporter_email", "category", "description"])
def test_a_nul_in_any_report_form_field_is_a_400_page_and_reports_nothing(app, client, world,
                                                                           field):
    token = csrf_token(client, "/report")
    form = report_form(token, customer=org_code(app, world))
    form[field] = form[field] + "\x00"
    before = counts(app)
    assert_refused_page(client.post("/report", data=form))
    assert counts(app) == before


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_hostile_text_in_an_api_intake_is_422_and_writes_nothing(app, client, world, text):
    before = counts(app)
    response = client.post("/api/v1/incidents", headers=bearer(world, "desk"),
                           data=raw_json(new_incident(world, summary=text)),
                           content_type="application/json")
    assert_refused_api(response)
    assert counts(app) == before


def test_hostile_text_in_a_nested_key_or_value_is_422(app, client, world):
    before = counts(app)
    for reporter in ({"name": "田中\x00"}, {"na\ud800me": "田中"}):
        response = client.post("/api/v1/incidents", headers=bearer(world, "desk"),
                               data=raw_json(new_incident(world, reporter=reporter)),
                               content_type="application/json")
        assert_refused_api(response)
    assert counts(app) == before


def test_a_nul_in_an_api_note_is_422_and_adds_no_event(app, api, world):
    incident = create(api, world)["id"]
    before = counts(app)
    response = api("desk").post(f"/api/v1/incidents/{incident}/notes", json={"note": "a\x00"})
    assert_refused_api(response)
    assert counts(app) == before


@pytest.mark.parametrize("path", [
    "/api/v1/incidents?state=%00", "/api/v1/incidents?organization_id=1%00",
    "/api/v1/alerts?source=wazuh%00", "/api/v1/dispatches?state=%00",
    "/api/v1/incidents?st%00ate=received",
])
def test_a_nul_in_an_api_query_is_422(api, path):
    assert_refused_api(api("desk").get(path))


@pytest.mark.parametrize("path", [
    "/desk/incidents?state=%00", "/desk/incidents?organization=%00",
    "/desk/alerts?source=%00", "/desk/phone-intake?caller=03%00", "/a/abc%00def",
    "/lang/ja%00",
])
def test_a_nul_in_a_page_query_or_path_is_a_400_page(client, world, login, path):
    login(world.emails["desk"])
    assert_refused_page(client.get(path))


def test_a_nul_in_a_staff_form_is_a_400_page_and_adds_no_note(app, client, world, login):
    incident = incident_in(app, world, "triaging")
    login(world.emails["desk"])
    token = csrf_token(client, f"/desk/incidents/{incident}")
    before = counts(app)
    response = client.post(f"/desk/incidents/{incident}/notes",
                           data={"csrf_token": token, "note": "メモ\x00"})
    assert_refused_page(response)
    assert counts(app) == before


def test_a_nul_in_an_evidence_file_name_is_refused(app, client, world, login):
    import io
    incident = incident_in(app, world, "triaging")
    login(world.emails["desk"])
    token = csrf_token(client, f"/desk/incidents/{incident}")
    before = counts(app)
    response = client.post(f"/desk/incidents/{incident}/evidence", data={
        "csrf_token": token, "kind": "screenshot", "description": "画面",
        "file": (io.BytesIO(b"plain text"), "a\x00.txt")}, content_type="multipart/form-data")
    assert_refused_page(response)
    assert counts(app) == before


def test_a_nul_in_a_signed_twilio_webhook_is_a_400_and_opens_nothing(app, client, world,
                                                                     monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", TOKEN)
    path = "/webhooks/twilio/voice/incoming"
    data = {"CallSid": "CA" + "7" * 32, "From": "+81312345678\x00", "To": "+81500000000",
            "Direction": "inbound", "CallStatus": "ringing"}
    before = counts(app)
    response = client.post(path, data=data, headers={"X-Twilio-Signature": sign(app, path, data)})
    assert_refused_page(response)
    assert counts(app) == before


# ---------------------------------------------------------------- alert ingest


@pytest.fixture
def ingest_key(app, world):
    with app.app_context():
        plain = ingest_service.create_ingest_key(db.session.get(Organization, world.org_a))
        db.session.remove()
    return plain


def ingest(client, key, body, content_type="application/json"):
    return client.post("/api/v1/alerts", data=body, content_type=content_type,
                       headers={"Authorization": f"Bearer {key}"})


def generic_alert(**changes):
    return {"source": "edr", "sensor": "edr-01", "severity": "high", "rule_id": "R1",
            "rule_name": "Ransomware", "hosts": ["pc-01"],
            "occurred_at": "2026-11-25T09:00:00+09:00"} | changes


def last_refusal(app):
    with app.app_context():
        refusal = db.session.scalars(select(RejectedPayload)
                                     .order_by(RejectedPayload.id.desc())).first()
        db.session.expunge_all()
    return refusal


@pytest.mark.parametrize(("body", "kept"), [
    (raw_json(generic_alert(rule_name="a\x00b")), "a\\u0000b"),
    (raw_json(generic_alert(rule_name="a\ud800b")), "a\\ud800b"),
    (raw_json(generic_alert(extra={"k\x00": 1})), "k\\u0000"),
    ('{"rule_name": "a\x00b"}', "a\\u0000b"),  # a raw NUL: not even JSON
])
def test_hostile_alert_json_is_422_and_kept_escaped(app, client, ingest_key, body, kept):
    before = counts(app)
    response = ingest(client, ingest_key, body.encode())
    assert_error(response, 422, "validation_error")
    assert counts(app)[:-1] == before[:-1]  # no alert, no incident
    assert counts(app)[-1] == before[-1] + 1
    assert kept in last_refusal(app).body


def test_a_nul_in_a_cef_line_is_422_and_kept_escaped(app, client, ingest_key):
    line = "CEF:0|Trend|Apex|1.0|100|Ransom\x00ware|9|dvchost=pc-01 rt=1764028800000"
    response = ingest(client, ingest_key, line.encode(), "text/plain")
    assert_error(response, 422, "validation_error")
    assert "Ransom\\u0000ware" in last_refusal(app).body


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"])
def test_an_alert_time_past_the_calendar_is_422_and_kept(app, client, ingest_key, moment):
    before = counts(app)
    response = ingest(client, ingest_key, raw_json(generic_alert(occurred_at=moment)).encode())
    assert_error(response, 422, "validation_error")
    assert "occurred_at" in response.json["error"]["details"]["reason"]
    assert counts(app)[-1] == before[-1] + 1


# ---------------------------------------------------------------- JSON nested deeply


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/api/v1/incidents"), ("post", "/api/v1/incidents/1/notes"),
    ("put", "/api/v1/organizations/1"), ("post", "/api/v1/technicians"),
    ("get", "/api/v1/incidents"),
])
@pytest.mark.parametrize("depth", [65, DEEP])
def test_json_nested_too_deep_is_422_in_the_api(app, client, world, method, path, depth):
    before = counts(app)
    response = getattr(client, method)(path, data=deep_json(depth), headers=bearer(world, "admin"),
                                       content_type="application/json")
    assert_refused_api(response, "deeper than 64 levels")
    assert counts(app) == before


def test_json_nested_64_deep_is_still_read_and_65_is_not(client, world):
    def send(depth):
        return client.post("/api/v1/incidents", data=deep_json(depth),
                           headers=bearer(world, "desk"), content_type="application/json")
    assert "fields" in send(64).json["error"]["details"]  # pydantic's: not an object
    assert_refused_api(send(65), "deeper than 64 levels")


@pytest.mark.parametrize("path", ["/report", "/login"])
def test_json_nested_too_deep_is_a_400_page(app, client, world, path):
    """Flask-WTF reads a JSON body as the form (the CSRF token may come as a header)."""
    token = csrf_token(client, path)
    before = counts(app)
    response = client.post(path, data=deep_json(), content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert_refused_page(response)
    assert counts(app) == before


def test_json_nested_too_deep_is_a_400_on_a_webhook(app, client, world):
    before = counts(app)
    response = client.post("/webhooks/twilio/voice/incoming", data=deep_json(),
                           content_type="application/json")
    assert_refused_page(response)
    assert counts(app) == before


# ---------------------------------------------------------------- instants


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00",
                                    "1969-12-31T23:59:59Z", "2100-01-01T00:00:00Z"])
@pytest.mark.parametrize("field", ["discovered_at", "occurred_at"])
def test_an_intake_time_out_of_range_is_422_with_the_field(app, api, world, moment, field):
    before = counts(app)
    response = api("desk").post("/api/v1/incidents", json=new_incident(world, **{field: moment}))
    assert_error(response, 422, "validation_error")
    assert field in [f["field"] for f in response.json["error"]["details"]["fields"]]
    assert counts(app) == before


def test_a_leak_report_time_past_the_calendar_is_422(app, api, world):
    incident = create(api, world)["id"]
    before = counts(app)
    response = api("desk").post(f"/api/v1/incidents/{incident}/leak-reports",
                                json={"kind": "preliminary",
                                      "reported_at": "0001-01-01T00:00:00+14:00"})
    assert_error(response, 422, "validation_error")
    assert counts(app) == before


def test_a_shift_time_past_the_calendar_is_a_form_error(app, client, world, login):
    login(world.emails["admin"])
    path = f"/admin/technicians/{world.technician}/shifts"
    token = csrf_token(client, path)
    before = shifts(app)
    response = client.post(path, data={"csrf_token": token, "starts_at": "0001-01-01T00:00",
                                       "ends_at": "0001-01-01T08:00"}, follow_redirects=True)
    assert response.status_code in (200, 400)
    assert "1970" in response.text
    assert shifts(app) == before


def shifts(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OnCallShift))


# ---------------------------------------------------------------- ids past INTEGER


def page_routes_with_ids(app):
    """Every page and webhook route taking an `<int:...>`, as (method, path) with the ids set."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") or not any(
                isinstance(c, IntegerConverter) for c in rule._converters.values()):
            continue
        values = {name: TOO_LARGE if isinstance(conv, IntegerConverter) else "accept"
                  for name, conv in rule._converters.items()}
        path = rule.rule
        for name, value in values.items():
            path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        method = "GET" if "GET" in rule.methods else "POST"
        routes.append((method, path))
    return routes


def test_every_page_and_webhook_route_with_an_id_past_integer_is_a_404(app, client, world,
                                                                        login):
    login(world.emails["admin"])
    routes = page_routes_with_ids(app)
    assert len(routes) >= 45
    for method, path in routes:
        response = client.open(path, method=method)
        # 405 where the same path has a route for another method: werkzeug compares the
        # method before it converts the id. Either way no view runs.
        assert response.status_code in (404, 405), (method, path, response.status_code)
        assert client.get(path).status_code in (404, 405)
        adapter = app.url_map.bind("localhost")
        endpoint, _ = adapter.match(path.replace(str(TOO_LARGE), str(TOO_LARGE - 1)), method)
        assert endpoint  # the largest INTEGER still reaches the view


@pytest.mark.parametrize("path", [
    "/desk/alerts?organization_id=99999999999",
    "/admin/technicians?after=99999999999", "/admin/organizations?page=99999999999999999999",
    "/dispatch/?page=99999999999999999999",
    f"/desk/alerts?cursor={encode_cursor(TOO_LARGE)}",
])
def test_an_id_or_page_past_integer_in_a_page_query_is_not_a_500(client, world, login, path):
    login(world.emails["admin"])
    assert client.get(path).status_code in (200, 302, 400, 404)  # 302: the list, flashed


@pytest.mark.parametrize("path", ["/api/v1/incidents", "/api/v1/alerts"])
def test_a_cursor_past_integer_is_422_in_the_api(api, path):
    response = api("admin").get(f"{path}?cursor={encode_cursor(TOO_LARGE)}")
    assert_error(response, 422, "validation_error")


# ---------------------------------------------------------------- money past INTEGER


@pytest.fixture
def costs_incident(app, world):
    """An on-site incident of org A held by the world's technician."""
    return {"id": held_incident(app, world)["incident"]}


def cost_lines(app):
    with app.app_context():
        return db.session.scalar(select(func.count(CostItem.id)))


def test_a_cost_line_whose_amount_passes_integer_is_422_on_quantity(app, api, costs_incident):
    """Quantity × unit price within each field's limit (99,999,999.99 × 100,000,000) but past
    INTEGER: a technician could store it and break the claim (PostgreSQL: 500)."""
    from tests.web.api.test_costs_api import add
    before = cost_lines(app)
    response = add(api, costs_incident, "technician", head="dispatch",
                   quantity="99999999.99", unit_price=100_000_000)
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["field"] == "quantity"
    assert cost_lines(app) == before


def test_cost_lines_may_not_total_past_what_a_claim_can_hold(app, api, costs_incident):
    from app.services.claims.costs import MAX_INCIDENT_TOTAL
    from tests.web.api.test_costs_api import add
    half = MAX_INCIDENT_TOTAL // 2 + 1
    assert add(api, costs_incident, quantity="1", unit_price=100_000_000).status_code == 201
    line = add(api, costs_incident, quantity=str(round(half / 100_000_000, 2) + 1),
               unit_price=100_000_000)
    assert line.status_code == 201, line.text
    before = cost_lines(app)
    refused = add(api, costs_incident, quantity=str(round(half / 100_000_000, 2) + 1),
                  unit_price=100_000_000)
    assert_error(refused, 422, "validation_error")
    assert "total" in refused.json["error"]["message"]
    assert cost_lines(app) == before


# ---------------------------------------------------------------- one charset


@pytest.mark.usefixtures("evidence_dir")
def test_a_shift_jis_evidence_file_is_served_with_its_one_charset(app, client, world, login):
    from tests.web.api.test_evidence_api import post_file
    incident = held_incident(app, world)["incident"]
    uploaded = post_file(client, world, incident, data="領収書です".encode("cp932"),
                         name="memo.txt")
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json["content_type"] == "text/plain; charset=shift_jis"
    download = client.get(f"/api/v1/evidence/{uploaded.json['id']}/content",
                          headers=bearer(world, "desk"))
    download.close()
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/plain; charset=shift_jis"
    page = login(world.emails["desk"]).get(f"/desk/evidence/{uploaded.json['id']}?download=1",
                                           headers={"Sec-Fetch-Site": "same-origin"})
    page.close()
    assert page.headers["Content-Type"] == "text/plain; charset=shift_jis"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("query", ["from={d}&to={d}", "to={d}", "from={d}"])
def test_a_statistics_period_past_the_calendar_is_422_or_a_form_error(client, api, world, login,
                                                                    day, query):
    query = query.format(d=day)
    for path in ("/api/v1/stats/dashboard", "/api/v1/stats/liaison"):
        response = api("admin").get(f"{path}?{query}")
        assert_error(response, 422, "validation_error")
        assert response.json["error"]["details"]["reason"] in ("out_of_range", "too_long")
    login(world.emails["admin"])
    page = client.get(f"/dashboard/?{query}")
    assert page.status_code == 422  # the form again, with the error on the field
    assert "1970年から2099年までの日付" in page.text
