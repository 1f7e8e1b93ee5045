"""Alert bodies in every accepted form become the exact NormalizedAlerts, record by record;
a record that cannot be read is refused alone with its line and reason; a body that cannot
be read at all raises AlertFormatError."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.alerts.parsers import (
    AlertFormatError,
    Context,
    NormalizedAlert,
    dedup_key,
    parse_cef_line,
    parse_lines,
    parse_payload,
    parse_record,
)

SAMPLES = Path(__file__).parents[1] / "samples" / "alerts"
RECEIVED = datetime(2024, 11, 25, 6, 0, tzinfo=UTC)
CONTEXT = Context(RECEIVED)


def sample(name):
    """A sample payload's bytes."""
    return (SAMPLES / name).read_bytes()


def compact(name):
    """A JSON sample as the compact JSON kept in NormalizedAlert.raw."""
    return json.dumps(json.loads(sample(name)), ensure_ascii=False, separators=(",", ":"))


def alerts(content_type, body, context=CONTEXT):
    """The alerts of a body whose every record is readable."""
    outcomes = parse_payload(content_type, body, context)
    assert [o.reason for o in outcomes] == [""] * len(outcomes)
    return [o.alert for o in outcomes]


def refusals(content_type, body):
    """(line, reason) of each refused record of a body."""
    return [(o.line, o.reason) for o in parse_payload(content_type, body, CONTEXT) if o.reason]


def cef(extension="rt=1732504202000 dvchost=fw01", header="CEF:0|Vendor|Product|1.0|100|Name|5|"):
    """A CEF line, read as received at RECEIVED."""
    return parse_cef_line(header + extension, RECEIVED)


def test_a_wazuh_sshd_brute_force_alert_is_high_on_the_agent_host_with_the_attacker_address():
    assert alerts("application/json", sample("wazuh_sshd_brute_force.json")) == [
        NormalizedAlert(
            source="wazuh", sensor="wazuh-manager", severity="high", rule_id="5712",
            rule_name="sshd: brute force trying to get access to the system. Non existent user.",
            hosts=("web-srv01",), addresses=("192.168.10.21", "203.0.113.45"),
            occurred_at=datetime(2024, 11, 25, 3, 3, 41, 512000, tzinfo=UTC),
            raw=compact("wazuh_sshd_brute_force.json"), time_source="timestamp",
            users=("oracle",), groups=("syslog", "sshd", "authentication_failures"), level=10)]


def test_a_wazuh_virustotal_malware_alert_at_level_12_is_critical():
    alert = parse_record(json.loads(sample("wazuh_virustotal_malware.json")), CONTEXT)
    assert (alert.severity, alert.rule_id, alert.hosts, alert.level) == (
        "critical", "87105", ("pc-keiri-03",), 12)
    assert alert.occurred_at == datetime(2024, 11, 25, 5, 20, 5, 31000, tzinfo=UTC)
    assert alert.raw == compact("wazuh_virustotal_malware.json")


def test_a_fortigate_ips_cef_line_names_the_attack_so_distinct_attacks_stay_apart():
    line = sample("fortigate_ips.cef").decode().rstrip("\n")
    assert alerts("text/plain; charset=utf-8", sample("fortigate_ips.cef")) == [
        NormalizedAlert(
            source="Fortinet Fortigate", sensor="fw01", severity="high",
            rule_id="16384", rule_name="utm:ips signature", hosts=("web-srv01",),
            addresses=("203.0.113.77", "192.168.10.21"),
            occurred_at=datetime(2024, 11, 25, 3, 10, 2, tzinfo=UTC), raw=line,
            time_source="rt",
            identity=("utm:ips signature", "Apache.Log4j.Error.Log.Remote.Code.Execution"))]


def test_a_fortigate_virus_cef_line_names_the_virus_file_and_url():
    line = sample("fortigate_virus.cef").decode().rstrip("\n")
    alert = parse_cef_line(line, RECEIVED)
    assert (alert.sensor, alert.hosts, alert.addresses) == (
        "fw01", ("pc-keiri-03",), ("192.168.10.53", "198.51.100.23"))
    assert alert.occurred_at == datetime(2024, 11, 25, 5, 31, 17, tzinfo=UTC)
    assert alert.identity == ("utm:virus infected blocked", "W32/Agent.ABCD!tr",
                              "invoice_1125.exe",
                              "http://198.51.100.23/dl/get.php?f=invoice_1125.exe")


def test_a_generic_edr_alert_parses_with_addresses_in_canonical_form():
    assert alerts("application/json", sample("generic_edr.json")) == [NormalizedAlert(
        source="edr", sensor="edr-cloud-tenant-0042", severity="critical",
        rule_id="EDR-RANSOM-001", rule_name="Ransomware behaviour: mass file encryption",
        hosts=("pc-soumu-01",), addresses=("192.168.10.61", "fe80::1"),
        occurred_at=datetime(2024, 11, 25, 5, 44, 10, tzinfo=UTC),
        raw=compact("generic_edr.json"), time_source="occurred_at")]


def test_a_json_array_mixing_wazuh_and_generic_alerts_gives_one_alert_each_in_order():
    body = b"[" + sample("generic_edr.json") + b"," + sample("wazuh_sshd_brute_force.json") + b"]"
    assert [a.rule_id for a in alerts("application/json", body)] == ["EDR-RANSOM-001", "5712"]


def test_lines_are_numbered_in_the_body_blank_lines_counted_and_skipped():
    body = sample("fortigate_ips.cef") + b"\r\n\n" + sample("fortigate_virus.cef") + b"\n\n"
    outcomes = parse_payload("text/plain", body, CONTEXT)
    assert [(o.line, o.alert.rule_id) for o in outcomes] == [(1, "16384"), (4, "8192")]


def test_json_array_records_are_numbered_from_one():
    body = json.dumps([json.loads(sample("generic_edr.json")), {"source": "edr"}, 5]).encode()
    outcomes = parse_payload("application/json", body, CONTEXT)
    assert [(o.line, bool(o.alert)) for o in outcomes] == [(1, True), (2, False), (3, False)]
    assert outcomes[1].reason == "severity is missing or not a non-empty string"
    assert outcomes[1].text == '{"source":"edr"}'
    assert outcomes[2].reason == "an alert must be a JSON object, not int"


def test_one_bad_cef_line_is_refused_alone_with_its_line_number():
    assert refusals("text/plain", sample("mixed/cef_one_bad_header.cef")) == [
        (3, "CEF header has 4 of 7 fields")]


def test_a_generic_alert_missing_its_sensor_is_refused_alone():
    assert refusals("application/json", sample("mixed/generic_one_missing_sensor.json")) == [
        (2, "sensor is missing or not a non-empty string")]


@pytest.mark.parametrize(("name", "reason"), [
    ("generic_naive_timestamp.json", "occurred_at has no time zone"),
    ("generic_wrong_severity.json",
     "severity 'urgent' is not one of critical, high, medium, low"),
    ("wazuh_level_out_of_range.json", "rule.level '17' is not an integer 0-16"),
])
def test_a_malformed_single_record_is_refused_with_the_reason(name, reason):
    assert refusals("application/json", sample(f"malformed/{name}")) == [(1, reason)]


def test_broken_json_is_no_body_at_all_saying_where():
    with pytest.raises(AlertFormatError) as caught:
        parse_payload("application/json", sample("malformed/broken.json"), CONTEXT)
    assert "not JSON" in caught.value.reason and "line 3" in caught.value.reason


@pytest.mark.parametrize(("content_type", "body", "reason"), [
    ("application/xml", b"<alert/>", "unsupported content type 'application/xml'"),
    ("text/plain; charset=koi8-r", b"x", "unsupported charset 'koi8-r'"),
    ("application/json", b"[]", "the JSON document holds no alerts"),
    ("application/json", b"{", "body is not JSON"),
    ("application/json", b'{"a": "\x00"}', "body is not JSON: Invalid control character"),
    ("application/json", b"[" * 100_000, "body is"),
    ("text/plain", b"\n \n", "the body holds no records"),
    ("application/x-ndjson", b"", "the body holds no records"),
    ("application/json", b"\xff\xfe", "body is not utf-8 text (byte 0)"),
])
def test_bodies_that_cannot_be_read_at_all_are_refused_whole(content_type, body, reason):
    with pytest.raises(AlertFormatError) as caught:
        parse_payload(content_type, body, CONTEXT)
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize(("body", "reason"), [
    (b"hello", 'not a CEF line: no "CEF:" header'),
    (b"CEF:0|V|P|1|9|N|5|rt=0 dvchost=a\x00b", "line holds a NUL character"),
    (b"CEF:0|V|P|1|9|\xed\xa0\x80|5|rt=0", "line is not utf-8 text (byte 14)"),  # a surrogate
    (b'{"source": "edr", "rule_name": "\\ud800"}', "record refused: $.rule_name holds a NUL"),
])
def test_a_bad_line_is_refused_with_its_reason_and_its_text_kept(body, reason):
    [outcome] = parse_payload("text/plain", body, CONTEXT)
    assert outcome.alert is None and outcome.reason.startswith(reason)
    assert outcome.text


def test_a_lone_surrogate_in_one_json_record_refuses_that_record_only():
    good = json.loads(sample("generic_edr.json"))
    body = json.dumps([good, {**good, "rule_name": "\ud800"}]).encode()
    outcomes = parse_payload("application/json", body, CONTEXT)
    assert outcomes[0].alert and outcomes[1].reason.startswith("record refused: $.rule_name")


def test_ndjson_is_read_line_by_line_under_each_content_type():
    line = json.dumps(json.loads(sample("wazuh_sshd_brute_force.json")))
    body = f"{line}\n\n{line.replace('5712', '5713')}\nnot json\n".encode()
    for content_type in ("application/x-ndjson", "application/json", "text/plain"):
        outcomes = parse_payload(content_type, body, CONTEXT)
        assert [(o.line, o.alert.rule_id if o.alert else o.reason[:22]) for o in outcomes] == [
            (1, "5712"), (3, "5713"), (4, 'not a CEF line: no "CE')], content_type


def test_shift_jis_and_euc_jp_bodies_are_read_by_their_charset():
    line = "CEF:0|ベンダー|製品|1|100|不正アクセスを検知|8|rt=1732504202000 dvchost=本社UTM"
    for charset, codec in (("Shift_JIS", "cp932"), ("EUC-JP", "euc_jp"), ("utf-8", "utf-8")):
        [alert] = alerts(f"text/plain; charset={charset}", line.encode(codec))
        assert (alert.source, alert.rule_name, alert.sensor) == (
            "ベンダー 製品", "不正アクセスを検知", "本社UTM")


def test_an_undecodable_line_is_refused_and_the_others_are_read():
    body = b"CEF:0|V|P|1|1|ok|5|rt=0\nCEF:0|V|P|1|2|\x82|5|rt=0\n"
    outcomes = parse_payload("text/plain; charset=shift_jis", body, CONTEXT)
    assert outcomes[0].alert and outcomes[1].reason == "line is not cp932 text (byte 14)"
    assert "\\x82" in outcomes[1].text


def test_syslog_lines_are_read_one_by_one_with_the_default_sensor():
    lines = ["<134>Nov 25 15:00:00 CEF:0|V|P|1|100|Name|5|src=192.0.2.1", "garbage"]
    outcomes = parse_lines(lines, Context(RECEIVED, default_sensor="utm-honsha"))
    assert (outcomes[0].line, outcomes[0].alert.sensor) == (1, "utm-honsha")
    assert outcomes[0].alert.occurred_at == datetime(2024, 11, 25, 6, 0, tzinfo=UTC)
    assert (outcomes[1].line, outcomes[1].text) == (2, "garbage")


def test_wazuh_json_forwarded_by_syslog_is_read_with_the_header_host_as_fallback_sensor():
    alert = json.loads(sample("wazuh_sshd_brute_force.json"))
    del alert["manager"]
    [outcome] = parse_lines([f"<132>Nov 25 12:03:41 wazuh01 wazuh: {json.dumps(alert)}"],
                            CONTEXT)
    assert outcome.alert.rule_id == "5712" and outcome.alert.sensor == "web-srv01"


def test_the_dedup_key_ignores_host_order_and_case_but_not_the_organization_or_rule():
    alert = parse_record(json.loads(sample("generic_edr.json")), CONTEXT)
    same = NormalizedAlert(**{**alert.__dict__, "hosts": ("PC-B", "pc-a"), "raw": "other"})
    swapped = NormalizedAlert(**{**same.__dict__, "hosts": ("pc-a", "pc-b")})
    assert dedup_key(1, same) == dedup_key(1, swapped)
    assert len(dedup_key(1, same)) == 64
    assert dedup_key(2, same) != dedup_key(1, same)
    assert dedup_key(1, alert) != dedup_key(1, same)
    other_rule = NormalizedAlert(**{**same.__dict__, "rule_id": "EDR-RANSOM-002"})
    assert dedup_key(1, other_rule) != dedup_key(1, same)


def test_the_dedup_key_keeps_apart_what_the_identity_tells_apart():
    alert = parse_record(json.loads(sample("generic_edr.json")), CONTEXT)
    passwd = NormalizedAlert(**{**alert.__dict__, "identity": ("/etc/passwd",)})
    shadow = NormalizedAlert(**{**alert.__dict__, "identity": ("/etc/shadow",)})
    assert len({dedup_key(1, a) for a in (alert, passwd, shadow)}) == 3
    assert dedup_key(1, passwd) == dedup_key(
        1, NormalizedAlert(**{**passwd.__dict__, "raw": "a repeat"}))


def test_without_hosts_the_dedup_key_uses_the_addresses():
    alert = parse_record(json.loads(sample("generic_edr.json")), CONTEXT)
    a = NormalizedAlert(**{**alert.__dict__, "hosts": (), "addresses": ("10.0.0.1",)})
    b = NormalizedAlert(**{**alert.__dict__, "hosts": (), "addresses": ("10.0.0.2",)})
    assert dedup_key(1, a) != dedup_key(1, b)


CEF_PIECES = st.sampled_from(
    ["CEF:", "CEF:0|", "|", "\\", "\\|", "\\=", "=", " ", "rt=", "src=", "dst=", "dvchost=",
     "shost=", "1732504202000", "Nov 25 2024 12:00:00", "Nov 25 12:00:00", " +09:00", " JST",
     "10", "Very-High", "Unknown", "999.1.1.1", "::1", "\n", "<134>", "<134>1 ", "- ", "[a b=\"",
     "Nov 25 12:00:00 fw01 ", "2024-11-25T12:00:00+09:00 ", "date=", "0", "FTNTFGTtz=",
     "FTNTFGTeventtime=", "99999999999999999999", "Asia/Tokyo", "{", "}"])


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)  # a shared machine
@given(st.one_of(st.text(), st.lists(st.one_of(CEF_PIECES, st.text(max_size=5))).map("".join)))
def test_any_line_is_either_an_alert_or_a_refusal_with_a_reason(text):
    [outcome] = parse_lines([text], CONTEXT)
    if outcome.alert is None:
        assert outcome.reason and outcome.text == text
        return
    assert outcome.alert.severity in ("critical", "high", "medium", "low")
    assert outcome.alert.occurred_at.tzinfo is UTC and outcome.alert.sensor


def test_a_received_line_with_a_lone_surrogate_is_refused_and_kept():
    line = "CEF:0|V|P|1|100|bad \udcff byte|5|rt=0"  # decoded with surrogateescape
    [outcome] = parse_lines([line], CONTEXT)
    assert (outcome.reason, outcome.text) == ("line holds a lone surrogate", line)


def test_ndjson_under_application_json_with_a_broken_first_line_refuses_only_that_line():
    good = json.dumps(json.loads(sample("wazuh_sshd_brute_force.json")))
    outcomes = parse_payload("application/json", f'{{"rule": \n{good}\n'.encode(), CONTEXT)
    assert [(o.line, bool(o.alert)) for o in outcomes] == [(1, False), (2, True)]
    assert outcomes[0].reason.startswith("line is not JSON")
