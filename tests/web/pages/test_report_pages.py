"""The report pages: the same figures as the PDF, escaping, English, the staff's build."""

import hashlib
import html
import io
import re

from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.models import MonthlyReport, Notification, Organization
from app.services.reporting import monthly as reports
from app.testkit.factories import PASSWORD
from app.testkit.helpers import csrf_token
from tests.scenes import reports as scene
from tests.scenes.reports import NOW

ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<td( class=\"num\" data-figure)?>(.*?)</td>", re.S)
HOSTILE_NAME = '<script>alert("x")</script> & <b>太字</b>商事'
HOSTILE_SOURCE = "<img src=x onerror=alert(1)>"


def figure_rows(page):
    """(label, [figures]) of every table row of the page whose cells hold figures."""
    rows = []
    for row in ROW.findall(page):
        cells = CELL.findall(row)
        figures = [html.unescape(text) for numeric, text in cells if numeric]
        if figures:
            rows.append((html.unescape(cells[0][1]), figures))
    return rows


def pdf_of(client, path):
    response = client.get(path)
    data = response.get_data()
    response.close()
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return data, "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def squeeze(text):
    return re.sub(r"\s+", "", text)


def test_every_figure_on_the_page_is_in_the_pdf_on_the_same_row(login, world, built_full):
    client = login(world.emails["customer"])
    page = client.get("/reports/2026-10")
    assert page.status_code == 200
    rows = figure_rows(page.text)
    assert len(rows) > 40
    data, text = pdf_of(client, "/reports/2026-10/pdf")
    pdf = squeeze(text)
    for label, figures in rows:
        assert squeeze(label + "".join(figures)) in pdf, (label, figures)
    shown = {figure for _, figures in rows for figure in figures}
    assert {"¥82,309", "¥74,888", "¥7,421", "¥70,000", "90", "160", "12"} <= shown


def test_the_page_shows_the_charts_as_inline_svg_without_inline_styles(login, world, built_full):
    page = login(world.emails["customer"]).get("/reports/2026-10").text
    assert page.count("<svg") == 3
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert all("style=" not in svg and ' id="' not in svg for svg in svgs)


def test_the_page_is_japanese_by_default_and_english_on_request(login, world, built_full):
    client = login(world.emails["customer"])
    assert "ランサムウェア" in client.get("/reports/2026-10").text
    english = client.get("/reports/2026-10?lang=en").text
    assert "Monthly report 2026-10" in english and "Ransomware" in english
    assert "Investigation" in english and "¥55,555" in english


def test_a_hostile_organization_name_and_alert_source_are_escaped_in_page_and_pdf(
        app, login, world, reports_dir):
    with app.app_context():
        org = scene.organization(world)
        org.name = HOSTILE_NAME
        db.session.commit()
        scene.add_alert(world.org_a, "high", HOSTILE_SOURCE, 1, scene.T1)
        reports.build_monthly_report(org, "2026-10", now=NOW)
        db.session.remove()
    client = login(world.emails["customer"])
    page = client.get("/reports/2026-10").text
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>太字" not in page
    assert str(escape(HOSTILE_NAME)) in page and str(escape(HOSTILE_SOURCE)) in page
    _, text = pdf_of(client, "/reports/2026-10/pdf")
    assert HOSTILE_NAME in text and HOSTILE_SOURCE in text


def report_count(app):
    with app.app_context():
        count = db.session.scalar(select(func.count(MonthlyReport.id)))
        db.session.remove()
    return count


def build_form(client, organization_id, month):
    token = csrf_token(client, "/reports/")
    return client.post("/reports/build", data={"organization_id": organization_id,
                                               "month": month, "csrf_token": token})


def test_staff_build_a_report_from_the_page(app, login, world, reports_dir, frozen):
    with app.app_context():
        scene.october(world)
        db.session.remove()
    client = login(world.emails["desk"])
    response = build_form(client, world.org_a, "2026-10")
    assert response.status_code == 302
    assert response.location.endswith(f"/reports/2026-10?organization_id={world.org_a}")
    page = client.get(response.location)
    assert page.status_code == 200 and "甲商事" in page.text
    with app.app_context():
        report = db.session.scalars(select(MonthlyReport)).one()
        assert report.built_at == NOW and report.data["alerts"]["alerts"] == 5
        path = reports_dir / report.pdf_path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == report.pdf_sha256
        assert db.session.scalar(select(func.count(Notification.id)).where(
            Notification.template == "monthly_report")) == 1
        db.session.remove()


def test_a_bad_build_form_is_a_form_error_and_builds_nothing(app, login, world, reports_dir,
                                                            frozen):
    client = login(world.emails["admin"])
    for organization_id, month in ((world.org_a, "2026-13"), (world.org_a, "2027-01"),
                                   (world.org_b, "2026-10"), (999999, "2026-10")):
        response = build_form(client, organization_id, month)
        assert response.status_code == 302
        page = client.get(response.location)
        assert 'class="flash error"' in page.text, (organization_id, month)
    assert report_count(app) == 0
    assert not reports_dir.exists()


def test_a_build_without_csrf_or_by_a_customer_is_refused(app, login, world, reports_dir,
                                                          frozen):
    desk = login(world.emails["desk"])
    no_token = desk.post("/reports/build", data={"organization_id": world.org_a,
                                                 "month": "2026-10"})
    assert no_token.status_code == 400
    customer = login(world.emails["customer"])
    token = csrf_token(customer, "/reports/")
    refused = customer.post("/reports/build", data={"organization_id": world.org_a,
                                                    "month": "2026-10", "csrf_token": token})
    assert refused.status_code == 403
    assert report_count(app) == 0


def test_staff_choose_the_organization_on_the_list(login, world, built):
    client = login(world.emails["dispatcher"])
    listing = client.get("/reports/")
    assert f'data-report="{built["a"]}"' in listing.text
    assert f'data-report="{built["c"]}"' in listing.text
    only_c = client.get(f"/reports/?organization_id={built['org_c']}&month=2026-10")
    assert f'data-report="{built["c"]}"' in only_c.text
    assert f'data-report="{built["a"]}"' not in only_c.text
    bad = client.get("/reports/?month=2026-99")
    assert 'class="flash error"' in bad.text  # the bad filter is said, and ignored
    without_org = client.get("/reports/2026-10")
    assert without_org.status_code == 302 and "month=2026-10" in without_org.location


def test_the_nav_links_to_the_reports_for_customers_and_staff_only(login, world, app):
    for role, shown in (("customer", True), ("desk", True), ("admin", True),
                        ("technician", False), ("insurer", False)):
        client = app.test_client()
        client.post("/login", data={"email": world.emails[role], "password": PASSWORD,
                                    "csrf_token": csrf_token(client, "/login")})
        home = client.get("/report")
        assert ('href="/reports/"' in home.text) is shown, role


def test_a_missing_pdf_file_is_a_404_not_a_500(app, login, world, built, reports_dir):
    with app.app_context():
        report = db.session.get(MonthlyReport, built["a"])
        (reports_dir / report.pdf_path).unlink()
        db.session.remove()
    response = login(world.emails["customer"]).get("/reports/2026-10/pdf")
    assert response.status_code == 404


def test_the_organization_row_keeps_its_name_in_the_frozen_report(app, login, world, built):
    with app.app_context():
        db.session.get(Organization, world.org_a).name = "改名後"
        db.session.commit()
        db.session.remove()
    page = login(world.emails["customer"]).get("/reports/2026-10").text
    assert "甲商事" in page and "改名後" not in page.split("<main>")[1]
