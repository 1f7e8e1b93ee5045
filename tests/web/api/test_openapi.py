"""The OpenAPI 3.1 document and its interactive page."""

from openapi_spec_validator import validate


def test_the_openapi_document_is_valid_3_1_and_lists_the_api(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    paths = spec["paths"]
    assert {"/api/v1/incidents", "/api/v1/incidents/{incident_id}",
            "/api/v1/incidents/{incident_id}/transitions", "/api/v1/incidents/{incident_id}/notes",
            "/api/v1/organizations"} <= set(paths)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert paths["/api/v1/incidents"]["post"]["security"] == [{"bearerAuth": []}]
    create = paths["/api/v1/incidents"]["post"]["responses"]
    assert {"201", "401", "409", "413", "415", "422"} <= set(create)


def test_the_trigger_names_in_the_document_are_the_workflows(client):
    from workflows.incident import TRIGGERS
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    assert schemas["TransitionRequest"]["properties"]["trigger"]["enum"] == TRIGGERS


def test_the_interactive_page_is_served(client):
    page = client.get("/api/swagger")
    assert page.status_code == 200
    assert "openapi.json" in page.text


def test_the_triage_item_keys_are_listed_per_category(client):
    from app.domain.triage import CHECKLISTS
    from app.models.incident import CATEGORIES
    item = client.get("/api/openapi.json").json["components"]["schemas"][
        "TriageCheckRequest"]["properties"]["item"]
    per_category = {entry["title"]: entry["enum"] for entry in item["anyOf"]}
    assert set(per_category) == set(CATEGORIES)
    for category in CATEGORIES:
        assert per_category[category] == [key for key, _ in CHECKLISTS[category]], category
    assert "ransom_note" in per_category["ransomware"]
    assert "ransom_note" not in per_category["phishing_bec"]
