"""Liaison-meeting statistics: counts, the small-cell rule, anonymized cases, and no leaks."""

import json
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Alert, OrganizationPhone
from app.services.incidents.notes import add_note
from app.services.reporting import liaison
from app.services.reporting.liaison import HIDDEN, OTHER, Cell, protect
from app.testkit import factories
from tests.scenes.claims import claim_files  # noqa: F401  (fixture)
from tests.scenes.stats import PERIOD, T0, alert, receive, seed, user


def cells(**spec):
    """cells(a=(count, {orgs})) -> {key: Cell}."""
    return {key: Cell(count, set(orgs)) for key, (count, orgs) in spec.items()}


# ---------------------------------------------------------------- the small-cell rule


def test_cells_of_fewer_than_3_organizations_are_merged_into_other():
    assert protect(cells(a=(10, {1, 2, 3}), b=(7, {4, 5, 6, 7}), c=(2, {8}), d=(1, {9, 10}))) \
        == [("a", 10), ("b", 7), (OTHER, 3)]


def test_other_too_small_takes_in_the_smallest_cell_until_it_has_3_organizations():
    assert protect(cells(a=(9, {1, 2, 3, 4}), b=(4, {5, 6, 7}), c=(2, {8}))) == [
        ("a", 9), (OTHER, 6)]
    assert protect(cells(a=(9, {1, 2, 3, 4, 5}), c=(2, {8}))) == [(OTHER, 11)]


def test_organizations_are_counted_once_across_merged_cells():
    """One organization with three rare categories is still one organization."""
    assert protect(cells(x=(1, {1}), y=(1, {1}), z=(1, {1}), big=(5, {2, 3, 4}))) == [
        (OTHER, 8)]
    assert protect(cells(x=(1, {1}), y=(1, {1}), z=(1, {1}))) == [(OTHER, None)]


def test_cells_of_3_or_more_organizations_are_shown_as_they_are():
    assert protect(cells(a=(3, {1, 2, 3}), b=(5, {4, 5, 6}))) == [("b", 5), ("a", 3)]
    assert protect({}) == []


# ---------------------------------------------------------------- counts and cases


def org(name, prefecture, employees, industry):
    organization = factories.make_organization(name=name, prefecture=prefecture, contract=False,
                                               policy=False)
    organization.employees, organization.industry = employees, industry
    db.session.commit()
    return organization


@pytest.fixture
def eight(ctx):
    """Four small Tokyo makers (malware), three medium Osaka shops (phishing), one large
    Hokkaido builder (DoS): one incident each, in November 2026."""
    made = ([org(f"製作所{n}", 13, 5 + n, "製造業") for n in range(4)]
            + [org(f"商店{n}", 27, 100 + n, "小売業") for n in range(3)]
            + [org("唯一建設", 1, 800, "建設業")])
    for n, organization in enumerate(made):
        category = "malware" if n < 4 else "phishing_bec" if n < 7 else "dos"
        receive(organization, T0 + timedelta(minutes=n), category)
    return made


def rows(report, subject, dimension):
    return [(r["key"], r["count"]) for r in report["counts"]
            if (r["subject"], r["dimension"]) == (subject, dimension)]


def test_counts_merge_rare_cells_so_no_single_company_stands_out(eight):
    report = liaison.build(PERIOD, "en")
    # DoS (1 organization) alone is too small; phishing (3) is folded in with it.
    assert rows(report, "incidents", "category") == [("malware", 4), (OTHER, 4)]
    assert rows(report, "incidents", "industry") == [("製造業", 4), (OTHER, 4)]
    assert rows(report, "incidents", "size_band") == [("small", 4), (OTHER, 4)]
    assert rows(report, "incidents", "prefecture") == [("13", 4), (OTHER, 4)]
    assert rows(report, "incidents", "total") == [("_total", 8)]
    assert rows(report, "alerts", "total") == [("_total", None)]  # no alert: suppressed
    text = json.dumps(report, ensure_ascii=False) + liaison.to_csv(report).decode("utf-8-sig")
    assert "建設業" not in text and "dos" not in text and "北海道" not in text


def test_alerts_are_counted_by_their_incident_category_and_organization(eight):
    for organization in eight[:3]:
        alert(organization, "low", T0, count=5)
    report = liaison.build(PERIOD, "en")
    assert rows(report, "alerts", "category") == [("_none", 3)]  # no incident: 3 organizations
    assert rows(report, "alerts", "industry") == [("製造業", 3)]
    assert rows(report, "alerts", "total") == [("_total", 3)]


def test_a_case_shows_its_organization_only_among_at_least_3_alike(eight):
    cases, withheld = liaison.case_summaries(PERIOD)
    profiles = sorted((c["industry"], c["size_band"], c["region"]) for c in cases)
    assert profiles == [("小売業", "medium", "kinki")] * 3 + [("製造業", "small", "kanto")] * 4
    assert withheld == 1  # the lone Hokkaido builder cannot hide among 3


def test_rare_attributes_are_hidden_step_by_step_before_a_case_is_withheld(eight):
    """Two more small Osaka shops: alone by industry, but not by size band and region."""
    for n in range(2):
        receive(org(f"小町{n}", 26, 10, "飲食業"), T0, "other")  # Kyoto: Kinki, small
    cases, withheld = liaison.case_summaries(PERIOD)
    profiles = sorted((c["industry"], c["size_band"], c["region"]) for c in cases)
    assert (HIDDEN, HIDDEN, HIDDEN) in profiles
    assert ("飲食業", "small", "kinki") not in profiles
    assert withheld == 0  # the builder and the two shops hide together, all fields hidden
    assert profiles.count((HIDDEN, HIDDEN, HIDDEN)) == 3


def test_case_fields_are_coded_durations_in_hours_bands_and_yes_no(ctx, world, claim_files):  # noqa: F811
    seed(world)
    cases, withheld = liaison.case_summaries(PERIOD)
    assert (len(cases), withheld) == (4, 0)  # a, b, c, d; the cancelled one is no case
    ransomware = next(c for c in cases if c["category"] == "ransomware")
    assert ransomware == {
        "category": "ransomware", "severity": "critical", "channel": "phone",
        "discovery_source": "user", "industry": HIDDEN, "size_band": HIDDEN, "region": HIDDEN,
        "dispatched": True, "hours_to_first_response": 0, "hours_to_site": 1,
        "cost_band": "under_100k", "claim": True}
    assert {(c["hours_to_first_response"], c["cost_band"]) for c in cases
            if c["category"] != "ransomware"} == {  # c, b, and d (not answered yet)
        (0, "under_100k"), (1, "none"), (None, "none")}


def test_size_bands_and_cost_bands_have_their_documented_bounds():
    assert [liaison.size_band_of(n) for n in (0, 20, 21, 300, 301)] == [
        "small", "small", "medium", "medium", "large"]
    assert [liaison.cost_band_of(y) for y in (None, 0, 1, 99_999, 100_000, 999_999,
                                              1_000_000)] == [
        "none", "none", "under_100k", "under_100k", "100k_300k", "300k_1m", "1m_plus"]
    assert [liaison.region_of(p) for p in (1, 2, 13, 23, 27, 35, 39, 47)] == [
        "hokkaido", "tohoku", "kanto", "chubu", "kinki", "chugoku", "shikoku", "kyushu"]


def test_the_csv_is_utf8_with_a_bom_and_quotes_formula_like_text(eight):
    for n in range(3):
        receive(org(f"計算{n}", 13, 5, "=HYPERLINK(1)"), T0, "malware")
    data = liaison.to_csv(liaison.build(PERIOD, "en"))
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(liaison.CSV_COLUMNS)
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


# ---------------------------------------------------------------- THE LEAK TEST


SECRET_PHONES = ["+81398765431", "+81398765432", "+81398765433", "+81398765434"]


def identifying(n):
    """The distinctive details of the n-th leak-test organization and its incident."""
    return {"name": f"ZebraCorp{n} 株式会社", "code": f"ZEBRA-{n:04d}",
            "address": f"千代田区霞が関{n}-9-9 ZebraTower", "phone": SECRET_PHONES[n],
            "reporter": f"QuokkaPerson{n}", "reporter_phone": f"090-7777-66{n}5",
            "reporter_email": f"quokka{n}@zebra-secret.example",
            "summary": f"Summary-Narwhal-{n}", "description": f"Description-Okapi-{n}",
            "note": f"Note-Axolotl-{n}", "host": f"ws-pangolin-{n}.zebra.local",
            "ip": f"198.51.100.{170 + n}", "sensor": f"sensor-tapir-{n}",
            "rule": f"Rule-Wombat-{n}", "raw": f"raw-capybara-{n}"}


def seed_identifiers(world):
    """Four look-alike small Tokyo makers (so their profile is published) full of secrets."""
    secrets = []
    for n in range(4):
        s = identifying(n)
        organization = factories.make_organization(name=s["name"], phone=s["phone"],
                                                   contract=False, policy=False)
        organization.code, organization.address = s["code"], s["address"]
        organization.employees, organization.industry = 12, "製造業"
        db.session.commit()
        incident = receive(organization, T0 + timedelta(hours=n), "unauthorized_access",
                           summary=s["summary"], description=s["description"],
                           reporter_name=s["reporter"], reporter_phone=s["reporter_phone"],
                           reporter_email=s["reporter_email"])
        add_note(incident.id, user(world, "desk"), s["note"],
                 now=T0 + timedelta(hours=n, minutes=5))
        alert(organization, "high", T0 + timedelta(hours=n), incident=incident, count=2,
              hosts=[s["host"]], addresses=[s["ip"]], sensor=s["sensor"], rule_name=s["rule"],
              rule_id=s["rule"], raw=f'{{"host": "{s["host"]}", "src": "{s["ip"]}"}} {s["raw"]}')
        s["reference"] = incident.reference
        secrets.append(s)
    return secrets


def forms_of(value):
    """The value, and for phone numbers their digits-only forms (E.164 and national)."""
    found = {value}
    digits = "".join(ch for ch in value if ch.isdigit())
    if value.startswith("+81"):
        found |= {digits, "0" + digits[2:], value[1:]}
    elif value.startswith("090"):
        found.add(digits)
    return found


def test_no_identifying_detail_appears_in_the_csv_or_the_json(ctx, world, claim_files):  # noqa: F811
    seed(world)
    secrets = seed_identifiers(world)
    for n in range(4):  # the organizations' numbers are stored normalized (E.164)
        assert db.session.query(OrganizationPhone).filter_by(number=SECRET_PHONES[n]).count()
    assert db.session.query(Alert).count() == 8
    report = liaison.build(PERIOD, "en")
    assert any(c["industry"] == "製造業" for c in report["cases"])  # profiles are published
    outputs = {"json": json.dumps(report, ensure_ascii=False),
               "csv": liaison.to_csv(report).decode("utf-8-sig")}
    people = [(u.name, u.email) for u in [user(world, r) for r in world.users]]
    for text in outputs.values():
        for s in secrets:
            for value in s.values():
                for form in forms_of(value):
                    assert form not in text, form
        for name, email in people:
            assert name not in text and email not in text
        for marker in ("INC-", "ZEBRA", "Zebra", "zebra", "ORG-", "テスト株式会社", "大阪商店",
                       "札幌建設", "甲商事", "乙工業", "山田", "領収書", "隔離", "198.51.100", "@"):
            assert marker not in text, marker


def test_the_cli_writes_the_export_and_refuses_a_bad_period(app, world, runner, tmp_path,
                                                           claim_files):  # noqa: F811
    with app.app_context():
        seed(world)
        db.session.remove()
    target = tmp_path / "liaison.csv"
    done = runner.invoke(args=["stats", "liaison", "--from", "2026-11-01", "--to", "2026-11-30",
                               "--format", "csv", "-o", str(target)])
    assert done.exit_code == 0, done.output
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "ランサムウェア".encode() in data  # ja labels
    shown = runner.invoke(args=["stats", "liaison", "--from", "2026-11-01", "--to",
                                "2026-11-30", "--format", "json", "--lang", "en"])
    assert shown.exit_code == 0
    report = json.loads(shown.stdout_bytes)
    assert report["period"] == {"from": "2026-11-01", "to": "2026-11-30"}
    assert len(report["cases"]) == 4
    refused = runner.invoke(args=["stats", "liaison", "--from", "2026-11-30", "--to",
                                  "2026-11-01", "-o", str(tmp_path / "no.csv")])
    assert refused.exit_code == 2 and "before the start date" in refused.output
    assert not (tmp_path / "no.csv").exists()


def test_an_empty_period_has_only_its_totals_and_they_are_suppressed(ctx):
    report = liaison.build(PERIOD, "en")
    assert [(r["subject"], r["dimension"], r["count"]) for r in report["counts"]] == [
        ("incidents", "total", None), ("alerts", "total", None)]
    assert (report["cases"], report["cases_withheld"]) == ([], 0)
