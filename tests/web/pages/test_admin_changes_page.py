"""The change log page: an admin's change made through a page is listed with who made it,
newest first and by kind; other roles are refused and see no link to it."""

import pytest

from app.extensions import db
from app.models import User
from app.services.claims import insurers
from app.services.dispatch import technicians
from app.testkit.helpers import csrf_token

TECHNICIAN = {"name": "佐藤 健", "phone": "090-1234-5678", "prefectures": [13],
              "skills": ["malware"]}


@pytest.fixture
def admin(login, world):
    return login(world.emails["admin"])


def test_a_change_made_on_a_page_is_listed_with_its_actor(admin, world):
    token = csrf_token(admin, "/admin/insurers")
    added = admin.post("/admin/insurers", data={"code": "tokio", "name": "東京損保",
                                                "csrf_token": token})
    assert added.status_code == 200, added.text
    page = admin.get("/admin/changes")
    assert page.status_code == 200
    assert world.emails["admin"] in page.text
    assert "東京損保" in page.text and "webhook_secret" not in page.text
    assert 'href="/admin/changes"' in page.text  # the nav link


def test_the_list_filters_by_kind_and_pages_newest_first(app, admin, world):
    with app.app_context():
        actor = db.session.get(User, world.users["admin"])
        for number in range(51):
            technicians.create_technician(actor, {**TECHNICIAN, "name": f"技術者{number:02}"})
        insurers.create_insurer(actor, {"code": "ABC", "name": "A損保"})
        db.session.remove()
    page = admin.get("/admin/changes?kind=technician")
    assert "A損保" not in page.text
    assert page.text.index("技術者50") < page.text.index("技術者49")
    assert "技術者00" not in page.text
    older = page.text.split('href="/admin/changes?kind=technician&amp;cursor=')[1].split('"')[0]
    rest = admin.get(f"/admin/changes?kind=technician&cursor={older}")
    assert "技術者00" in rest.text and "技術者01" not in rest.text
    assert "A損保" in admin.get("/admin/changes").text


def test_a_bad_kind_is_refused(admin):
    assert admin.get("/admin/changes?kind=password").status_code in (400, 422)


@pytest.mark.parametrize("role", ["dispatcher", "desk"])
def test_other_roles_are_refused_and_see_no_link(login, world, role):
    client = login(world.emails[role])
    assert client.get("/admin/changes").status_code == 403
    assert 'href="/admin/changes"' not in client.get("/incidents").text
