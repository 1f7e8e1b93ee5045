"""GET /api/v1/admin-changes: admins list who changed what, newest first, by kind, a page at a
time; other roles get 403; a bad filter is a 422 naming it."""

import pytest

from tests.web.api.test_incidents_api import assert_error

TECHNICIAN = {"name": "佐藤 健", "phone": "090-1234-5678", "prefectures": [13],
              "skills": ["malware"]}


def test_an_admin_lists_the_changes_made_through_the_api(api, world):
    admin = api("admin")
    for number in range(3):
        made = admin.post("/api/v1/technicians", json={**TECHNICIAN, "name": f"技術者{number}"})
        assert made.status_code == 201, made.text
    first = admin.get("/api/v1/admin-changes?kind=technician&limit=2")
    assert first.status_code == 200, first.text
    items = first.json["items"]
    assert [i["after"]["name"] for i in items] == ["技術者2", "技術者1"]
    assert items[0]["actor"] == {"id": world.users["admin"], "label": world.emails["admin"]}
    assert (items[0]["kind"], items[0]["action"], items[0]["before"]) == (
        "technician", "created", None)
    rest = admin.get(f"/api/v1/admin-changes?kind=technician&cursor={first.json['next_cursor']}")
    assert [i["after"]["name"] for i in rest.json["items"]] == ["技術者0"]
    assert rest.json["next_cursor"] is None


@pytest.mark.parametrize("role", ["desk", "dispatcher", "customer", "insurer", "technician"])
def test_other_roles_are_refused(api, role):
    assert_error(api(role).get("/api/v1/admin-changes"), 403, "forbidden")


def test_a_bad_kind_or_cursor_is_refused_naming_it(api):
    assert_error(api("admin").get("/api/v1/admin-changes?kind=password"), 422,
                 "validation_error")
    assert_error(api("admin").get("/api/v1/admin-changes?cursor=nope"), 422,
                 "validation_error")
