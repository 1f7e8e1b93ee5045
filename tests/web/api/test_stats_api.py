"""GET /api/v1/stats/dashboard and /api/v1/stats/liaison: staff only, one error shape."""

import pytest

from app.extensions import db
from tests.scenes.claims import claim_files  # noqa: F401  (fixture)
from tests.scenes.stats import NOW, seed

NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def month(app, world, claim_files, monkeypatch):  # noqa: F811
    monkeypatch.setattr("app.api.stats.utcnow", lambda: NOW)
    with app.app_context():
        ids = seed(world)
        db.session.remove()
    return ids


def test_the_dashboard_figures_as_json(month, api):
    answer = api("dispatcher").get(f"/api/v1/stats/dashboard?{NOVEMBER}")
    assert answer.status_code == 200, answer.text
    data = answer.get_json()
    assert data["period"] == {"from": "2026-11-01", "to": "2026-11-30"}
    assert data["incidents"] == {"count": 5}
    assert {r["category"]: r["count"] for r in data["by_category"]}["malware"] == 2
    assert data["by_prefecture"] == [{"prefecture": 1, "count": 1},
                                     {"prefecture": 13, "count": 2},
                                     {"prefecture": 27, "count": 2}]
    assert data["mtta"] == {"count": 4, "mean_seconds": 1065, "median_seconds": 900}
    assert data["time_to_site"] == {"count": 1, "mean_seconds": 3000, "median_seconds": 3000}
    sla = {row["clock"]: row for row in data["sla"]}
    assert sla["first_response"] == {"clock": "first_response", "started": 5, "breached": 2,
                                     "breach_rate": 0.4}
    assert sla["leak_final"]["breach_rate"] is None
    assert data["cost"] == {"incidents": 2, "total_yen": 65_000, "per_incident_yen": 32_500}
    assert data["claim_cycle"] == {"count": 1, "mean_days": 10.0, "median_days": 10.0}
    assert data["alerts"][-1] == {"severity": "all", "alerts": 3, "occurrences": 5,
                                  "incidents": 2}


def test_the_liaison_statistics_as_json_and_as_csv(month, api):
    data = api("desk").get(f"/api/v1/stats/liaison?{NOVEMBER}&lang=en").get_json()
    assert data["rules"]["min_organizations"] == 3
    assert [b["max_employees"] for b in data["rules"]["size_bands"]] == [20, 300, None]
    assert len(data["cases"]) == 4 and data["cases_withheld"] == 0
    assert data["cases"][0]["labels"]["industry"] == "Not shown (fewer than 3 organizations)"
    csv = api("admin").get(f"/api/v1/stats/liaison?{NOVEMBER}&format=csv")
    assert csv.status_code == 200 and csv.content_type == "text/csv; charset=utf-8"
    assert csv.data.startswith(b"\xef\xbb\xbfsection,subject,dimension,key,label,count,")
    assert "attachment" in csv.headers["Content-Disposition"]


@pytest.mark.parametrize("role", ["customer", "technician", "insurer"])
@pytest.mark.parametrize("path", ["/api/v1/stats/dashboard", "/api/v1/stats/liaison",
                                  "/api/v1/stats/liaison?format=csv"])
def test_customers_technicians_and_insurers_are_refused(month, api, role, path):
    answer = api(role).get(path)
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "forbidden"


def test_without_a_token_the_answer_is_401(month, api):
    answer = api(None).get("/api/v1/stats/dashboard")
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("query, field", [
    ("from=2026-11-30&to=2026-11-01", "to"),
    ("from=garbage&to=2026-11-01", "from"),
    ("from=2026-11-01&to=2026-11-31", "to"),
    ("from=2020-01-01&to=2026-11-30", "to"),
])
@pytest.mark.parametrize("path", ["/api/v1/stats/dashboard", "/api/v1/stats/liaison"])
def test_a_bad_period_is_a_422_naming_the_field(month, api, path, query, field):
    answer = api("desk").get(f"{path}?{query}")
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "validation_error" and error["details"]["field"] == field


@pytest.mark.parametrize("query", ["format=xlsx", "colour=blue", "lang=fr"])
def test_an_unknown_parameter_or_value_is_refused(month, api, query):
    answer = api("desk").get(f"/api/v1/stats/liaison?{NOVEMBER}&{query}")
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "validation_error"


def test_the_default_period_is_the_30_days_to_today(month, api):
    data = api("desk").get("/api/v1/stats/dashboard").get_json()
    assert data["period"] == {"from": "2026-11-06", "to": "2026-12-05"}
    assert data["incidents"]["count"] == 6  # all but the one of 10-31


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/api/v1/stats/dashboard", "/api/v1/stats/liaison"} <= set(paths)
