"""After login each role lands on its own start page; a `next` on this site still wins."""

import pytest

from app.testkit import factories
from app.testkit.helpers import csrf_token

START = [("technician", "/tech/"), ("insurer", "/insurer/"), ("customer", "/report"),
         ("dispatcher", "/dispatch/"), ("desk", "/desk/"), ("admin", "/desk/")]


def _log_in(client, email, next_=None):
    token = csrf_token(client, "/login")
    return client.post("/login", query_string={"next": next_} if next_ else {},
                       data={"email": email, "password": factories.PASSWORD,
                             "csrf_token": token})


@pytest.mark.parametrize(("role", "start"), START)
def test_each_role_lands_on_its_own_start_page_which_opens(client, world, role, start):
    response = _log_in(client, world.emails[role])
    assert (response.status_code, response.headers["Location"]) == (302, start)
    assert client.get(start).status_code == 200
    assert client.get("/").headers["Location"] == start  # the site's root agrees


@pytest.mark.parametrize(("role", "target"), [
    ("technician", "/tech/dispatches/1"), ("insurer", "/insurer/claims/1"),
    ("desk", "/dispatch/"), ("customer", "/reports/")])
def test_a_next_on_this_site_wins(client, world, role, target):
    assert _log_in(client, world.emails[role], target).headers["Location"] == target


@pytest.mark.parametrize("role", ["technician", "insurer"])
@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_a_next_off_site_falls_back_to_the_start_page(client, world, role, target):
    start = dict(START)[role]
    assert _log_in(client, world.emails[role], target).headers["Location"] == start


def test_anyone_not_logged_in_starts_at_the_report_form(client):
    assert client.get("/").headers["Location"] == "/report"


def test_a_wrong_password_lands_nowhere(client, world):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": world.emails["technician"],
                                            "password": "guess", "csrf_token": token})
    assert response.status_code == 401
    assert client.get("/tech/").headers["Location"].startswith("/login")
