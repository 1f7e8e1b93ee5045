"""Syslog headers in every form appliances send, and CEF as vendors emit it: times in every
form (and the fallbacks, each named), sensors never missing, severity words, escapes, host
names; samples written from the vendors' published formats (samples/alerts/vendors)."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.domain.alerts.normalized import AlertFormatError
from app.domain.alerts.parsers import Context, parse_cef_line, parse_payload
from app.domain.alerts.severity import CEF_WORDS, cef_severity
from app.domain.alerts.syslog import parse_syslog
from app.domain.alerts.times import parse_time

APPLIANCES = Path(__file__).parents[1] / "samples" / "alerts" / "vendors" / "appliances.cef"
RECEIVED = datetime(2026, 12, 6, 1, 0, 5, tzinfo=UTC)  # 10:00:05 JST
TEN_JST = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def cef(extension="rt=1796518800000 dvchost=fw01", header="CEF:0|Vendor|Product|1.0|100|Name|5|",
        prefix="", default_sensor=None):
    return parse_cef_line(prefix + header + extension, RECEIVED, default_sensor)


# ---------------------------------------------------------------- syslog headers


@pytest.mark.parametrize(("line", "time", "host", "tag", "body"), [
    ("<134>Dec  6 10:00:00 fw01 CEF:0|x", TEN_JST, "fw01", None, "CEF:0|x"),
    ("Dec  6 10:00:00 fw01 CEF:0|x", TEN_JST, "fw01", None, "CEF:0|x"),  # no PRI
    ("<13>Dec 6 10:00:00 CEF:0|x", TEN_JST, None, None, "CEF:0|x"),  # no host
    ("<38>Dec 06 10:00:00 dsm01 sshd[4242]: Accepted", TEN_JST, "dsm01", "sshd", "Accepted"),
    ("<38>Dec 06 10:00:00 sshd[4242]: Accepted", TEN_JST, None, "sshd", "Accepted"),
    ("<38>Dec 06 2026 10:00:00 fw9 CEF:0|x", TEN_JST, "fw9", None, "CEF:0|x"),  # with a year
    ("<134>1 2026-12-06T10:00:00.250+09:00 fw03 CheckPoint 1234 ID47 - CEF:0|x",
     TEN_JST + timedelta(milliseconds=250), "fw03", "CheckPoint", "CEF:0|x"),
    ("<134>1 - - - - - - CEF:0|x", None, None, None, "CEF:0|x"),  # NILVALUE everywhere
    ('<134>1 2026-12-06T01:00:00Z fw04 app - - [origin ip="192.0.2.1" x="a\\]b"][meta a="1"] '
     "CEF:0|x", TEN_JST, "fw04", "app", "CEF:0|x"),
    ("<134>1 2026-12-06T01:00:00Z fw05 app - - - \ufeffCEF:0|x", TEN_JST, "fw05", "app",
     "CEF:0|x"),  # the UTF-8 BOM RFC 5424 allows before MSG
    ("2026-12-06T10:00:00+09:00 192.0.2.1 CEF:0|x", TEN_JST, "192.0.2.1", None, "CEF:0|x"),
    ("<134>2026-12-06T10:00:00+09:00 fw06 CEF:0|x", TEN_JST, "fw06", None, "CEF:0|x"),
    ("2026-12-06 10:00:00 192.0.2.1 CEF:0|x", TEN_JST, "192.0.2.1", None, "CEF:0|x"),  # JST
    ('<189>date=2026-12-06 time=10:00:00 devname="FGT60F" devid="FGT60F0000" tz="+0900" '
     "CEF:0|x", TEN_JST, "FGT60F", None, "CEF:0|x"),
    ('<189>date=2026-12-06 time=01:00:00 devname="FGT60F" tz="+0000" CEF:0|x', TEN_JST,
     "FGT60F", None, "CEF:0|x"),
    ("CEF:0|x", None, None, None, "CEF:0|x"),  # no header at all
    ("<134>Feb 30 10:00:00 fw01 CEF:0|x", None, "fw01", None, "CEF:0|x"),  # bad time: none
])
def test_syslog_headers_give_time_host_app_and_body(line, time, host, tag, body):
    parsed = parse_syslog(line, RECEIVED)
    assert (parsed.time, parsed.host, parsed.app, parsed.body) == (time, host, tag, body)


def test_rfc5424_structured_data_is_read_with_its_escapes():
    parsed = parse_syslog('<134>1 - h a - - [origin ip="192.0.2.1" note="x\\]y\\"z"][m] msg',
                          RECEIVED)
    assert parsed.structured == {"origin": {"ip": "192.0.2.1", "note": 'x]y"z'}, "m": {}}
    assert parsed.body == "msg"


def test_a_december_header_received_in_january_is_last_years():
    parsed = parse_syslog("<134>Dec 31 23:59:59 fw01 CEF:0|x",
                          datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC))
    assert parsed.time == datetime(2026, 12, 31, 14, 59, 59, tzinfo=UTC)


# ---------------------------------------------------------------- CEF times


@pytest.mark.parametrize(("rt", "expected"), [
    ("1796518800000", TEN_JST),  # epoch milliseconds
    ("1796518800", TEN_JST),  # epoch seconds: not January 1970
    ("1796518800.5", TEN_JST + timedelta(milliseconds=500)),
    ("1796518800123456", TEN_JST + timedelta(microseconds=123456)),  # microseconds
    ("1796518800123456789", TEN_JST + timedelta(microseconds=123456)),  # nanoseconds
    ("Dec 06 2026 01:00:00 UTC", TEN_JST),
    ("Dec 6 2026 10:00:00.250 JST", TEN_JST + timedelta(milliseconds=250)),
    ("Dec 06 2026 10:00:00 +09:00", TEN_JST),
    ("Dec 06 2026 10:00:00 +0900", TEN_JST),
    ("Dec 06 2026 10:00:00 Asia/Tokyo", TEN_JST),
    ("Dec 06 2026 10:00:00", TEN_JST),  # no zone: Japan time
    ("Dec 06 10:00:00", TEN_JST),  # no year: the one nearest the receive time
    ("Dec 06 01:00:00.5 GMT", TEN_JST + timedelta(milliseconds=500)),
    ("2026-12-06T10:00:00+09:00", TEN_JST),  # ISO 8601
    ("2026-12-06T01:00:00Z", TEN_JST),
    ("2026-12-06T01:00:00.123456789Z", TEN_JST + timedelta(microseconds=123456)),
    ("2026-12-06 10:00:00", TEN_JST),
])
def test_cef_rt_in_every_form_the_spec_and_vendors_use(rt, expected):
    alert = cef(f"rt={rt} dvchost=fw01")
    assert (alert.occurred_at, alert.time_source) == (expected, "rt")


@pytest.mark.parametrize(("extension", "source"), [
    ("end=1796518800000", "end"),
    ("start=1796518800000", "start"),
    ("deviceCustomDate1=Dec 06 2026 10:00:00 JST", "deviceCustomDate1"),
    ("FTNTFGTeventtime=1796518800000000000", "FTNTFGTeventtime"),
    ("FTNTFGTeventtime=1796518800000000", "FTNTFGTeventtime"),
])
def test_without_rt_the_time_comes_from_the_next_field_which_is_named(extension, source):
    alert = cef(f"{extension} dvchost=fw01")
    assert (alert.occurred_at, alert.time_source) == (TEN_JST, source)


def test_without_time_fields_the_syslog_header_then_the_receive_time_is_used():
    from_header = cef("dvchost=fw01", prefix="<134>Dec  6 10:00:00 fw01 ")
    assert (from_header.occurred_at, from_header.time_source) == (TEN_JST, "syslog_header")
    received = cef("dvchost=fw01")
    assert (received.occurred_at, received.time_source) == (RECEIVED, "received")


def test_fortigates_zone_field_places_its_naive_times():
    alert = cef("rt=Dec 06 2026 01:00:00 FTNTFGTtz=+0000 dvchost=fw01")
    assert alert.occurred_at == TEN_JST


@pytest.mark.parametrize(("extension", "reason"), [
    ("rt=Feb 30 2026 10:00:00 UTC", "rt is not a valid date"),
    ("rt=Dec 06 2026 10:00:00 CET", "rt has an unknown time zone 'CET'"),
    ("rt=yesterday", "rt is not epoch, 'MMM dd [yyyy] HH:mm:ss [zone]' or ISO 8601"),
    ("rt=2026-13-01T00:00:00Z", "rt is not a valid ISO 8601 time"),
    ("rt=99999999999999999999", "rt: a time from 1970-01-01 to 2100-01-01"),
    ("rt=Dec 06 9999 10:00:00 +23:59", "rt: a time from 1970-01-01 to 2100-01-01"),
])
def test_a_time_field_that_is_present_but_unreadable_refuses_the_line(extension, reason):
    with pytest.raises(AlertFormatError) as caught:
        cef(f"{extension} dvchost=fw01")
    assert caught.value.reason.startswith(reason)


def test_parse_time_takes_the_year_nearest_the_receive_time_across_new_year():
    january = datetime(2027, 1, 2, tzinfo=UTC)
    assert parse_time("Dec 31 12:00:00 UTC", "rt", january) == datetime(2026, 12, 31, 12,
                                                                         tzinfo=UTC)
    december = datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert parse_time("Jan 01 01:00:00 UTC", "rt", december) == datetime(2027, 1, 1, 1,
                                                                         tzinfo=UTC)
    assert parse_time("Feb 29 10:00:00 UTC", "rt", datetime(2028, 3, 1, tzinfo=UTC)) == \
        datetime(2028, 2, 29, 10, tzinfo=UTC)


# ---------------------------------------------------------------- sensors and headers


@pytest.mark.parametrize(("extension", "prefix", "default", "sensor"), [
    ("dvchost=fw01 dvc=192.0.2.1 deviceExternalId=FG100F", "<134>Dec 6 10:00:00 h ", "d",
     "fw01"),
    ("dvc=192.0.2.1 deviceExternalId=FG100F", "<134>Dec 6 10:00:00 h ", "d", "192.0.2.1"),
    ("deviceExternalId=FG100F", "<134>Dec 6 10:00:00 h ", "d", "FG100F"),
    ("dvchost= dvc=-", "<134>Dec 6 10:00:00 h ", "d", "h"),
    ("", "<134>1 2026-12-06T10:00:00+09:00 fw03 - - - - ", "d", "fw03"),
    ("", "2026-12-06T10:00:00+09:00 192.0.2.9 ", "d", "192.0.2.9"),
    ("", "", "utm-honsha", "utm-honsha"),
    ("", "", None, "unknown sensor"),
])
def test_the_sensor_falls_back_in_order_and_a_line_is_never_refused_for_lacking_one(
        extension, prefix, default, sensor):
    alert = cef(f"rt=0 {extension}".strip(), prefix=prefix, default_sensor=default)
    assert alert.sensor == sensor


def test_empty_vendor_or_product_and_an_empty_signature_are_allowed():
    alert = cef(header="CEF:0||ASA||106023||Low|")
    assert (alert.source, alert.rule_id, alert.rule_name) == ("ASA", "106023", "106023")
    assert cef(header="CEF:0|||1||Deny|3|").source == "CEF"
    with pytest.raises(AlertFormatError, match="neither a Signature ID nor a Name"):
        cef(header="CEF:0|V|P|1|||3|")


def test_escaped_pipes_and_backslashes_in_the_header_are_unescaped():
    alert = cef(header=r"CEF:0|Acme\|Labs|Sensor\\X|1.0|sig\|1|a\\b\|c|3|")
    assert (alert.source, alert.rule_id, alert.rule_name) == (
        "Acme|Labs Sensor\\X", "sig|1", "a\\b|c")


def test_escaped_equals_backslash_and_newline_in_extension_values_are_unescaped():
    alert = cef(r"shost=a\=b\\c\nd dhost=x y rt=1796518800000 dvchost=fw\\01 "
                r"request=http://x/?a\=1")
    assert alert.hosts == ("a=b\\c\nd", "x y") and alert.sensor == "fw\\01"
    assert "http://x/?a=1" in alert.identity


def test_a_pipe_in_an_extension_value_needs_no_escape():
    assert cef("shost=a|b rt=0 dvchost=fw01").hosts == ("a|b",)


def test_host_names_and_addresses_go_where_they_belong_whichever_field_holds_them():
    alert = cef("src=attacker.example.net dst=192.0.2.10 shost=10.0.0.21 dhost=web-srv01 "
                "rt=0 dvchost=fw01")
    assert alert.hosts == ("web-srv01", "attacker.example.net")
    assert alert.addresses == ("192.0.2.10", "10.0.0.21")
    assert cef("src=n/a dst=- shost= rt=0").addresses == ()
    with pytest.raises(AlertFormatError, match="src is neither an IP address nor a host name"):
        cef("src=10.0.0.999 rt=0")


@pytest.mark.parametrize(("extension", "reason"), [
    ("garbage rt=0 dvchost=fw01", "CEF extension has text before its first key"),
    ("just words", "CEF extension has no key=value pairs"),
])
def test_bad_cef_extensions_are_refused_with_the_reason(extension, reason):
    with pytest.raises(AlertFormatError, match=reason):
        cef(extension)


def test_an_unsupported_cef_version_is_refused():
    with pytest.raises(AlertFormatError, match="unsupported CEF version '2'"):
        cef(header="CEF:2|V|P|1|9|N|5|")


# ---------------------------------------------------------------- severity


@pytest.mark.parametrize(("value", "severity"), [
    ("0", "low"), ("3", "low"), ("4", "medium"), ("6", "medium"), ("7", "high"), ("8", "high"),
    ("9", "critical"), ("10", "critical"), ("Unknown", "low"), ("Low", "low"),
    ("Medium", "medium"), ("High", "high"), ("Very-High", "critical"), ("very high", "critical"),
    ("VERY_HIGH", "critical"), ("Informational", "low"), ("Warning", "medium"),
    ("Critical", "critical"), (" 5 ", "medium")])
def test_cef_severities_map_through_the_documented_table(value, severity):
    assert cef(header=f"CEF:0|V|P|1|9|N|{value}|").severity == severity


@pytest.mark.parametrize("value", ["11", "-1", "", "7.5", "urgent"])
def test_cef_severities_outside_the_table_are_refused(value):
    with pytest.raises(AlertFormatError, match="CEF severity"):
        cef(header=f"CEF:0|V|P|1|9|N|{value}|")


def test_the_severity_table_in_the_docs_is_the_one_in_the_code():
    docs = (Path(__file__).parents[2] / "docs" / "alerts.md").read_text()
    for word, severity in CEF_WORDS.items():
        assert f"| `{word}` | {severity} |" in docs, word
        assert cef_severity(word) == severity


# ---------------------------------------------------------------- vendors' lines

EXPECTED = [  # line: source, sensor, severity, time source, hosts, addresses, identity (part)
    ("Fortinet Fortigate", "FGT60FTK2209XXXX", "medium", "FTNTFGTeventtime", (),
     ("198.51.100.7", "192.0.2.10"), "HTTP.URI.SQL.Injection"),
    ("Fortinet Fortigate", "FGT100F", "high", "syslog_header", (),
     ("203.0.113.77", "192.0.2.21"), "Apache.Log4j.Error.Log.Remote.Code.Execution"),
    ("Fortinet FortiWeb", "FortiWeb-VM", "high", "syslog_header", (),
     ("203.0.113.9", "192.0.2.20"), "/login.php?id=1' OR '1'='1"),
    ("Trend Micro Deep Security Agent", "pc-soumu-01", "medium", "syslog_header", (), (),
     "C:\\Users\\tanaka\\Downloads\\eicar.com"),
    ("Trend Micro Deep Security Agent", "web-srv01", "low", "syslog_header", (),
     ("203.0.113.5", "192.0.2.30"), "Test Intrusion Prevention Rule"),
    ("Check Point VPN-1 & FireWall-1", "cp-log", "low", "rt", (),
     ("198.51.100.99", "192.0.2.80"), "https"),
    ("Check Point Anti-Bot", "192.0.2.1", "critical", "rt", ("pc-eigyo-07",),
     ("192.0.2.45", "198.51.100.200"), "Trojan.Win32.Emotet.TC.a"),
    ("Cisco ASA", "192.0.2.254", "low", "rt", (), ("198.51.100.3", "192.0.2.40"),
     'Deny tcp src outside:198.51.100.3/5555 dst inside:192.0.2.40/22 by access-group '
     '"outside_in"'),
    ("Cisco ASA", "asa-01", "medium", "rt", (), ("198.51.100.4",), "Object drop rate exceeded"),
    ("Cyber-Ark Vault", "VAULT", "medium", "syslog_header", (), ("10.0.0.21",),
     "Root\\Windows\\Administrator"),
    ("Imperva Inc. SecureSphere", "sender-0", "high", "rt", (), ("203.0.113.44", "192.0.2.70"),
     "Signature Violation"),
    ("Incapsula SIEMintegration", "33411452762204224", "low", "start", (), ("203.0.113.12",),
     "site.example.jp/index.php"),
]


@pytest.mark.parametrize(("number", "expected"), list(enumerate(EXPECTED, 1)))
def test_each_vendors_line_is_read_as_that_vendor_emits_it(number, expected):
    outcomes = parse_payload("text/plain", APPLIANCES.read_bytes(),
                             Context(RECEIVED, default_sensor="sender-0"))
    assert len(outcomes) == len(EXPECTED)
    alert = outcomes[number - 1].alert
    source, sensor, severity, time_source, hosts, addresses, identity = expected
    assert (alert.source, alert.sensor, alert.severity, alert.time_source) == (
        source, sensor, severity, time_source)
    assert (alert.hosts, alert.addresses) == (hosts, addresses)
    assert identity in alert.identity
    assert alert.occurred_at.replace(microsecond=0) == TEN_JST  # all at 10:00 JST


def test_a_cyberark_line_names_its_user():
    line = APPLIANCES.read_text().splitlines()[9]
    assert parse_cef_line(line, RECEIVED).users == ("tanaka",)


def test_two_fortigate_attacks_under_one_signature_id_have_different_identities():
    first, second = (parse_cef_line(line, RECEIVED)
                     for line in APPLIANCES.read_text().splitlines()[:2])
    assert first.rule_id == second.rule_id == "16384"
    assert set(first.identity) != set(second.identity)


def test_a_naive_cef_time_is_japan_time():
    line = (APPLIANCES.parent / "fortigate_naive_rt.cef").read_text()
    alert = parse_cef_line(line, datetime(2024, 11, 25, 6, tzinfo=UTC))
    assert alert.occurred_at == datetime(2024, 11, 25, 14, 31, 17,
                                         tzinfo=timezone(timedelta(hours=9)))
