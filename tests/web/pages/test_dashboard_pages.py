"""The dashboard pages: figures that link to exactly their incidents, the period form, access."""

import re
from html import unescape

import pytest

from app.extensions import db
from tests.scenes.claims import claim_files  # noqa: F401  (fixture)
from tests.scenes.stats import NOW, seed

NOVEMBER = "from=2026-11-01&to=2026-11-30"
DRILL = re.compile(r'<a class="drill" data-metric="([^"]+)" data-key="([^"]+)" '
                   r'href="([^"]+)">([^<]*)</a>')
ROW = re.compile(r'<td><a href="/desk/incidents/(\d+)">')


@pytest.fixture
def month(app, world, claim_files, monkeypatch):  # noqa: F811
    """The known month, and the pages' clock frozen at NOW."""
    monkeypatch.setattr("app.web.dashboard.views.utcnow", lambda: NOW)
    with app.app_context():
        ids = seed(world)
        db.session.remove()
    return ids


@pytest.fixture
def desk(login, world):
    return login(world.emails["desk"])


def listed(client, href):
    """The incident ids of every page of a drill-down list."""
    found = []
    while href:
        page = client.get(unescape(href))
        assert page.status_code == 200, page.text
        found += [int(i) for i in ROW.findall(page.text)]
        more = re.search(r'<a href="([^"]+)">[^<]*→</a>', page.text)
        href = more.group(1) if more else None
    return found


def test_every_number_on_the_dashboard_links_to_exactly_its_incidents(month, desk):
    page = desk.get(f"/dashboard/?{NOVEMBER}")
    assert page.status_code == 200
    links = DRILL.findall(page.text)
    counted = [(m, k, href, int(text)) for m, k, href, text in links if text.isdigit()]
    assert {m for m, *_ in counted} >= {"received", "category", "prefecture", "mtta",
                                         "time_to_site", "sla_started", "sla_breached", "cost",
                                         "claim_cycle", "alert_incidents"}
    for metric, key, href, number in counted:
        assert "from=2026-11-01" in href and "to=2026-11-30" in href
        ids = listed(desk, href)
        assert len(ids) == len(set(ids)) == number, (metric, key)
    received = next(h for m, k, h, _n in counted if m == "received")
    assert set(listed(desk, received)) == {month.a, month.b, month.c, month.d, month.edge_in}


def test_the_dashboard_shows_the_known_figures(month, desk):
    text = desk.get(f"/dashboard/?{NOVEMBER}&lang=en").text
    assert "0 h 15 min" in text  # MTTA median: (10 + 20) / 2 minutes
    assert "0 h 18 min" in text  # MTTA mean: 17.75 minutes, rounded
    assert "0 h 50 min" in text  # time to site
    assert "10.0 days" in text  # claim cycle
    assert "¥65,000" in text and "¥32,500" in text
    assert "40.0%" in text  # first-response breach rate: 2 of 5
    assert text.count("<svg") == 2  # category and prefecture charts
    assert "東京都" in text and "大阪府" in text and "北海道" in text


def test_the_default_period_is_the_last_30_days(month, desk):
    page = desk.get("/dashboard/")
    assert page.status_code == 200
    assert 'value="2026-11-06"' in page.text and 'value="2026-12-05"' in page.text


def test_a_drill_down_lists_reference_organization_category_state_and_time_in_jst(month, desk):
    page = desk.get(f"/dashboard/incidents?metric=prefecture&key=1&{NOVEMBER}&lang=en")
    assert page.status_code == 200
    assert [int(i) for i in ROW.findall(page.text)] == [month.d]
    assert "札幌建設" in page.text and "Malware infection" in page.text
    assert "2026-11-10 13:00 JST" in page.text and "Received" in page.text


@pytest.mark.parametrize("query, message", [
    ("from=2026-11-30&to=2026-11-01", "The end date is before the start date."),
    ("from=garbage&to=2026-11-01", "Not a valid date value."),
    ("from=2020-01-01&to=2026-11-01", "A period can be at most 3 years long."),
])
def test_a_bad_period_is_a_form_error_and_shows_no_figures(month, desk, query, message):
    for path in ("/dashboard/", "/dashboard/incidents", "/dashboard/liaison"):
        page = desk.get(f"{path}?{query}&metric=received&key=all&lang=en")
        assert page.status_code == 422
        assert message in page.text
        assert 'class="drill"' not in page.text and "/desk/incidents/" not in page.text
        assert "Download CSV" not in page.text


def test_a_bad_period_is_shown_in_japanese_by_default(month, desk):
    page = desk.get("/dashboard/?from=2026-11-30&to=2026-11-01")
    assert page.status_code == 422
    assert "<p class=\"error\">" in page.text


@pytest.mark.parametrize("query", ["metric=nonsense", "metric=category&key=nonsense",
                                   "metric=received&cursor=@@@"])
def test_an_unknown_figure_or_cursor_is_a_clear_error(month, desk, query):
    page = desk.get(f"/dashboard/incidents?{query}&{NOVEMBER}&lang=en")
    assert page.status_code == 422
    assert ("Unknown figure." in page.text) or ("The page link is not valid." in page.text)
    assert "/desk/incidents/" not in page.text


@pytest.mark.parametrize("role", ["dispatcher", "admin"])
def test_dispatchers_and_admins_see_the_dashboard_and_its_nav_link(month, login, world, role):
    client = login(world.emails[role])
    assert client.get(f"/dashboard/?{NOVEMBER}").status_code == 200
    assert 'href="/dashboard/"' in client.get("/desk/").text


@pytest.mark.parametrize("role", ["customer", "technician", "insurer"])
def test_customers_technicians_and_insurers_are_refused(month, login, world, role):
    client = login(world.emails[role])
    for path in ("/dashboard/", f"/dashboard/incidents?metric=received&{NOVEMBER}",
                 "/dashboard/liaison", f"/dashboard/liaison/export?format=csv&{NOVEMBER}"):
        assert client.get(path).status_code == 403, path
    home = client.get("/report").text
    assert 'href="/dashboard/"' not in home


def test_anonymous_visitors_are_sent_to_the_login_page(month, client):
    for path in ("/dashboard/", "/dashboard/liaison/export?format=json"):
        page = client.get(path)
        assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_the_liaison_page_previews_and_offers_the_downloads(month, desk):
    page = desk.get(f"/dashboard/liaison?{NOVEMBER}&lang=en")
    assert page.status_code == 200
    assert "Download CSV (Excel)" in page.text and "Download JSON" in page.text
    assert "Other (cells of fewer than 3 organizations merged)" in page.text
    assert "札幌建設" not in page.text and "大阪商店" not in page.text


def test_the_liaison_downloads_are_csv_with_bom_and_json(month, desk):
    csv = desk.get(f"/dashboard/liaison/export?format=csv&{NOVEMBER}")
    assert csv.status_code == 200 and csv.content_type == "text/csv; charset=utf-8"
    assert csv.data.startswith("\ufeff".encode())
    assert 'filename="liaison-2026-11-01-2026-11-30.csv"' in csv.headers["Content-Disposition"]
    data = desk.get(f"/dashboard/liaison/export?format=json&{NOVEMBER}").get_json(force=True)
    assert data["period"] == {"from": "2026-11-01", "to": "2026-11-30"}
    assert len(data["cases"]) == 4  # a, b, c, d (edge_in was cancelled)


def test_an_unknown_export_format_is_a_clear_error(month, desk):
    page = desk.get(f"/dashboard/liaison/export?format=xlsx&{NOVEMBER}&lang=en")
    assert page.status_code == 422 and "Choose CSV or JSON." in page.text
