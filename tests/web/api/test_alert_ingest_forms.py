"""POST /api/v1/alerts as real senders use it: per-record results, every input form and
charset, the `source` parameter, chunked bodies counted against ALERT_MAX_BYTES (413, never a
cut body), NUL bytes and lone surrogates (422, kept escaped), and GET /api/v1/alerts/{id}.
Run on SQLite and PostgreSQL (TEST_DATABASE_URL)."""

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Alert, Organization, RejectedPayload
from app.services.monitoring import ingest as service
from tests.web.api.test_incidents_api import assert_error

SAMPLES = Path(__file__).parents[2] / "samples" / "alerts"
URL = "/api/v1/alerts"


@pytest.fixture
def key(app, world):
    with app.app_context():
        plain = service.create_ingest_key(db.session.get(Organization, world.org_a))
        db.session.remove()
    return plain


def send(client, key, body, content_type="text/plain", query=""):
    return client.post(URL + query, data=body, content_type=content_type,
                       headers={"Authorization": f"Bearer {key}"})


def stored(app, model=Alert):
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return count


def refusals(app):
    with app.app_context():
        rows = [(r.line, r.reason, r.body) for r in db.session.scalars(
            select(RejectedPayload).order_by(RejectedPayload.id))]
        db.session.remove()
    return rows


def outcomes(response):
    assert response.status_code == 202, response.text
    return [(r["line"], r["outcome"]) for r in response.json["results"]]


@pytest.mark.parametrize(("name", "content_type", "source", "records"), [
    ("appliances.cef", "text/plain; charset=utf-8", "", 12),
    ("wazuh_alerts.json", "application/x-ndjson", "", 8),
    ("wazuh_alerts.json", "application/json", "", 8),  # NDJSON under application/json
    ("wazuh_indexer_hits.json", "application/json", "", 2),
    ("defender_alerts.json", "application/json", "?source=defender", 1),
    ("elastic_alerts.ndjson", "application/x-ndjson", "?source=elastic", 2),
    ("crowdstrike_detections.json", "application/json", "", 1),
    ("visionone_workbench.json", "application/json", "?source=visionone", 1),
])
def test_every_vendor_sample_is_stored_record_by_record(app, client, key, name, content_type,
                                                        source, records):
    response = send(client, key, (SAMPLES / "vendors" / name).read_bytes(), content_type,
                    source)
    assert [outcome for _, outcome in outcomes(response)] == ["accepted"] * records
    assert stored(app) == records and refusals(app) == []


def test_a_mixed_batch_stores_the_good_lines_and_keeps_the_bad_ones_on_the_refused_page(
        app, client, key, login, world):
    lines = (SAMPLES / "vendors" / "appliances.cef").read_text().splitlines()
    body = "\n".join([lines[0], "garbage line", "", lines[1], "CEF:0|V|P|1|2|N|99|rt=0",
                      lines[0]])
    response = send(client, key, body.encode())
    assert outcomes(response) == [(1, "accepted"), (2, "refused"), (4, "accepted"),
                                  (5, "refused"), (6, "repeat")]
    results = response.json["results"]
    assert results[0]["alert_id"] == results[4]["alert_id"] and results[1]["alert_id"] is None
    assert results[3]["reason"].startswith("CEF severity '99'")
    assert stored(app) == 2
    assert [(line, body) for line, _, body in refusals(app)] == [
        (2, "garbage line"), (5, "CEF:0|V|P|1|2|N|99|rt=0")]
    page = login(world.emails["desk"]).get("/desk/alerts/refused?lang=en")
    assert "garbage line" in page.text and "line 5: CEF severity" in page.text


def test_a_shift_jis_body_is_read_by_its_charset(app, client, key):
    line = "CEF:0|ベンダー|UTM|1|100|不正通信を遮断|8|rt=1796518800000 dvchost=本社UTM"
    response = send(client, key, line.encode("cp932"), "text/plain; charset=Shift_JIS")
    [alert_id] = [r["alert_id"] for r in response.json["results"]]
    detail = client.get(f"{URL}/{alert_id}", headers={"Authorization": f"Bearer {key}"})
    assert detail.status_code == 401  # an ingest key reads nothing
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert (alert.rule_name, alert.sensor) == ("不正通信を遮断", "本社UTM")
        db.session.remove()


def test_the_sender_address_names_the_sensor_when_nothing_else_does(app, client, key):
    response = client.post(URL, data=b"CEF:0|V|P|1|100|N|8|rt=1796518800000",
                           content_type="text/plain", headers={"Authorization": f"Bearer {key}"},
                           environ_base={"REMOTE_ADDR": "192.0.2.77"})
    assert outcomes(response) == [(1, "accepted")]
    with app.app_context():
        assert db.session.scalars(select(Alert.sensor)).one() == "192.0.2.77"
        db.session.remove()


@pytest.mark.parametrize(("query", "field"), [("?source=splunk", "source"),
                                              ("?colour=blue", "colour")])
def test_an_unknown_source_or_parameter_is_422_and_changes_nothing(app, client, key, query,
                                                                  field):
    response = send(client, key, b"CEF:0|V|P|1|100|N|8|rt=0", query=query)
    assert_error(response, 422, "validation_error")
    assert stored(app) == 0 and refusals(app) == []


@pytest.mark.parametrize(("body", "content_type", "kept"), [
    (b"CEF:0|V|P|1|100|Ran\x00som|9|rt=0", "text/plain", "Ran\\u0000som"),
    (b'{"source": "edr", "rule_name": "a\\ud800b"}', "application/json", "a\\ud800b"),
    (b'{"source": "edr", "rule_name": "a\x00b"}', "application/json", "a\\u0000b"),
    (b"CEF:0|V|P|1|100|a\xed\xa0\x80b|9|rt=0", "text/plain", "a\ufffd\ufffd\ufffdb"),
    (b"\xff\xfe{}", "application/json", "\ufffd\ufffd{}"),
    (b"", "text/plain", ""),
    (b"<alert/>", "application/xml", "<alert/>"),
])
def test_what_cannot_be_stored_at_all_is_422_and_the_body_is_kept_escaped(
        app, client, key, body, content_type, kept):
    response = send(client, key, body, content_type)
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"]["reason"]
    [(line, reason, kept_body)] = refusals(app)
    assert line is None and kept in kept_body and stored(app) == 0


class Trickle(io.RawIOBase):
    """A request stream as a chunked upload arrives: a few bytes per read, then the end."""

    def __init__(self, data, piece=1000):
        self.data, self.piece = data, piece

    def readable(self):
        return True

    def readinto(self, buffer):
        size = min(len(buffer), self.piece, len(self.data))
        buffer[:size], self.data = self.data[:size], self.data[size:]
        return size


def send_chunked(client, key, body):
    """POST without Content-Length (Transfer-Encoding: chunked), as a WSGI server that
    decodes chunking passes it on (wsgi.input_terminated)."""
    return client.post(URL, data=b"", content_type="text/plain", headers={
        "Authorization": f"Bearer {key}", "Transfer-Encoding": "chunked"}, environ_overrides={
        "wsgi.input": Trickle(body), "wsgi.input_terminated": True})


def numbered_lines(count):
    return "\n".join(f"CEF:0|V|P|1|R{n}|Rule {n}|3|rt=1796518800000 src=192.0.2.1"
                     for n in range(count)).encode()


def test_a_chunked_body_arriving_in_pieces_is_read_whole(app, client, key):
    body = numbered_lines(300)
    response = send_chunked(client, key, body)
    assert len(outcomes(response)) == 300 and stored(app) == 300


def test_a_chunked_body_over_the_limit_is_413_and_nothing_is_stored(app, client, key,
                                                                    monkeypatch):
    body = numbered_lines(300)
    monkeypatch.setitem(app.config, "ALERT_MAX_BYTES", len(body) - 1)
    response = send_chunked(client, key, body)
    assert_error(response, 413, "payload_too_large")
    assert stored(app) == 0 and stored(app, RejectedPayload) == 0
    monkeypatch.setitem(app.config, "ALERT_MAX_BYTES", len(body))
    assert len(outcomes(send_chunked(client, key, body))) == 300


# ---------------------------------------------------------------- GET /api/v1/alerts/{id}


def test_an_alert_shows_its_time_source_sensor_count_and_newest_samples(app, api, client, key,
                                                                        monkeypatch):
    monkeypatch.setitem(app.config, "ALERT_SAMPLES", 2)
    lines = [f"<134>Dec  6 10:00:0{n} FGT60F CEF:0|Fortinet|Fortigate|7|16384|utm:ips "
             f"signature|8|FTNTFGTattack=X src=198.51.100.7 n={n}" for n in range(3)]
    for line in lines:
        alert_id = send(client, key, line.encode()).json["results"][0]["alert_id"]
    body = api("desk").get(f"{URL}/{alert_id}")
    assert body.status_code == 200, body.text
    detail = body.json
    assert (detail["time_source"], detail["sensor"], detail["severity"], detail["count"]) == (
        "syslog_header", "FGT60F", "high", 3)
    assert detail["samples"] == lines[1:]
    assert detail["occurred_at"] == "2026-12-06T01:00:00Z"  # the header's 10:00:00 JST


def test_a_customer_sees_its_own_alert_and_a_404_for_another_organizations(app, api, client,
                                                                           world, key):
    alert_id = send(client, key, b"CEF:0|V|P|1|100|N|8|rt=1796518800000").json[
        "results"][0]["alert_id"]
    assert api("customer").get(f"{URL}/{alert_id}").status_code == 200
    assert_error(api("other_customer").get(f"{URL}/{alert_id}"), 404, "not_found")
    assert_error(api("customer").get(f"{URL}/{alert_id + 1000}"), 404, "not_found")
    assert_error(api("technician").get(f"{URL}/{alert_id}"), 403, "forbidden")
