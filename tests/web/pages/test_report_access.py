"""Who sees which report: pages and API scoped alike (customer own, staff any, others none)."""

import hashlib

import pytest

from app.extensions import db
from app.models import MonthlyReport


@pytest.mark.parametrize("role", ["desk", "dispatcher", "admin"])
def test_staff_open_any_organizations_report_and_pdf(login, world, built, role):
    client = login(world.emails[role])
    for org_id, name in ((world.org_a, "甲商事"), (built["org_c"], "丙運輸")):
        page = client.get(f"/reports/2026-10?organization_id={org_id}")
        assert page.status_code == 200 and name in page.text
        pdf = client.get(f"/reports/2026-10/pdf?organization_id={org_id}")
        assert pdf.status_code == 200 and pdf.get_data()[:5] == b"%PDF-"
        pdf.close()


def test_a_customer_sees_only_its_own_organizations_reports(login, world, built):
    client = login(world.emails["customer"])
    listing = client.get("/reports/")
    assert f'data-report="{built["a"]}"' in listing.text
    assert f'data-report="{built["c"]}"' not in listing.text
    assert client.get("/reports/2026-10").status_code == 200
    for path in (f"/reports/2026-10?organization_id={built['org_c']}",
                 f"/reports/2026-10/pdf?organization_id={built['org_c']}",
                 "/reports/2026-09", "/reports/not-a-month", "/reports/2026-10x/pdf"):
        assert client.get(path).status_code == 404, path


def test_a_customer_without_a_report_finds_none(login, world, built):
    client = login(world.emails["other_customer"])  # organization B: no contract, no report
    assert 'data-report=' not in client.get("/reports/").text
    assert client.get("/reports/2026-10").status_code == 404
    assert client.get(f"/reports/2026-10?organization_id={world.org_a}").status_code == 404


@pytest.mark.parametrize("role", ["technician", "insurer"])
def test_technicians_and_insurers_are_refused(login, world, built, role):
    client = login(world.emails[role])
    for path in ("/reports/", "/reports/2026-10", f"/reports/2026-10?organization_id="
                 f"{world.org_a}", "/reports/2026-10/pdf"):
        assert client.get(path).status_code == 403, path


def test_anonymous_people_are_sent_to_the_login(client, built):
    response = client.get("/reports/2026-10")
    assert response.status_code == 302 and "/login" in response.location


# ---------------------------------------------------------------- the API, scoped the same


def ids_of(response):
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def test_the_api_lists_what_the_pages_show(api, world, built):
    assert ids_of(api("customer").get("/api/v1/reports")) == [built["a"]]
    assert ids_of(api("other_customer").get("/api/v1/reports")) == []
    assert ids_of(api("customer").get(
        f"/api/v1/reports?organization_id={built['org_c']}")) == []
    for role in ("desk", "dispatcher", "admin"):
        assert ids_of(api(role).get("/api/v1/reports")) == [built["c"], built["a"]]
    desk = api("desk")
    assert ids_of(desk.get(f"/api/v1/reports?organization_id={world.org_a}")) == [built["a"]]
    assert ids_of(desk.get("/api/v1/reports?month=2026-09")) == []
    first = desk.get("/api/v1/reports?limit=1").json
    assert [i["id"] for i in first["items"]] == [built["c"]] and first["next_cursor"]
    second = desk.get(f"/api/v1/reports?limit=1&cursor={first['next_cursor']}").json
    assert [i["id"] for i in second["items"]] == [built["a"]] and second["next_cursor"] is None


def test_the_api_gives_a_reports_figures_as_frozen(app, api, world, built):
    body = api("customer").get(f"/api/v1/reports/{built['a']}").json
    with app.app_context():
        report = db.session.get(MonthlyReport, built["a"])
        assert body["figures"] == report.data and body["pdf_sha256"] == report.pdf_sha256
        db.session.remove()
    assert body["month"] == "2026-10" and body["organization"]["name"] == "甲商事"
    assert body["built_at"] == "2026-11-02T00:00:00Z"
    assert body["figures"]["alerts"]["occurrences"] == 12


def test_the_api_serves_the_pdf_with_its_hash(api, built):
    response = api("admin").get(f"/api/v1/reports/{built['a']}/pdf")
    data = response.get_data()
    response.close()
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()


def test_the_api_refuses_like_the_pages(api, world, built):
    for path in (f"/api/v1/reports/{built['c']}", f"/api/v1/reports/{built['c']}/pdf",
                 "/api/v1/reports/999999"):
        response = api("customer").get(path)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    for role in ("technician", "insurer"):
        for path in ("/api/v1/reports", f"/api/v1/reports/{built['a']}",
                     f"/api/v1/reports/{built['a']}/pdf"):
            response = api(role).get(path)
            assert response.status_code == 403, (role, path)
            assert response.json["error"]["code"] == "forbidden"
    assert api(None).get("/api/v1/reports").status_code == 401


@pytest.mark.parametrize("query", ["month=2026-13", "month=2026-1", "organization_id=x",
                                   "limit=0", "limit=500", "colour=red", "cursor=%%%"])
def test_bad_api_filters_are_a_validation_error(api, built, query):
    response = api("desk").get(f"/api/v1/reports?{query}")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
