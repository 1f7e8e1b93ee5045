"""Operator commands for a production set-up: `org create`, and `user create --technician`
(a technician's login, so the /tech/ pages can be used)."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Organization, OrganizationPhone, User
from app.testkit.helpers import csrf_token
from tests.web.api.test_organizations_api import everything

PASSWORD = "a-long-password"


def users(app):
    with app.app_context():
        rows = db.session.execute(select(User.__table__)).all()
        db.session.remove()
    return rows


def test_org_create_adds_an_organization_with_its_phones(app, runner):
    result = runner.invoke(args=[
        "org", "create", "tky-0002", "--name", "株式会社東京精機", "--prefecture", "13",
        "--address", "東京都港区芝公園1-1", "--industry", "製造業", "--employees", "30",
        "--phone", "03-5555-0101", "--phone", "+81 90 5555 0102"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        created = db.session.scalars(select(Organization)).one()
        numbers = sorted(p.number for p in created.phones)
        assert (created.code, created.name, created.address, created.prefecture,
                created.industry, created.employees) == (
            "TKY-0002", "株式会社東京精機", "東京都港区芝公園1-1", 13, "製造業", 30)
        assert result.output.startswith(f"Created organization TKY-0002 (id {created.id};")
    assert numbers == ["+81355550101", "+819055550102"]


def test_org_create_needs_only_a_code_a_name_and_a_prefecture(app, runner):
    result = runner.invoke(args=["org", "create", "A1", "--name", "乙", "--prefecture", "47"])
    assert result.exit_code == 0, result.output
    assert "no phone" in result.output


@pytest.mark.parametrize("args,message", [
    (["TAKEN", "--name", "x", "--prefecture", "13"], "exists"),
    (["TKY 0002", "--name", "x", "--prefecture", "13"], "code"),
    (["TKY-0002", "--name", "x", "--prefecture", "48"], "prefecture"),
    (["TKY-0002", "--name", "x", "--prefecture", "tokyo"], "prefecture"),
    (["TKY-0002", "--name", "x", "--prefecture", "13", "--employees", "-1"], "employees"),
    (["TKY-0002", "--name", " ", "--prefecture", "13"], "name"),
    (["TKY-0002", "--name", "x", "--prefecture", "13", "--phone", "03-1234-5678"],
     "registered to the organization"),
    (["TKY-0002", "--name", "x", "--prefecture", "13", "--phone", "12345"], "phone number"),
    (["TKY-0002", "--name", "x", "--prefecture", "13", "--phone", "03-5555-0101",
      "--phone", "+81355550101"], "twice"),
    (["TKY-0002", "--prefecture", "13"], "--name"),
])
def test_org_create_refuses_bad_input_clearly_and_writes_nothing(app, runner, world, args,
                                                                 message):
    if args[0] == "TAKEN":
        with app.app_context():
            args = [db.session.get(Organization, world.org_a).code.lower(), *args[1:]]
    before = everything(app)
    result = runner.invoke(args=["org", "create", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert everything(app) == before


def test_a_technician_login_is_linked_and_reaches_the_technician_pages(app, runner, world,
                                                                        client):
    result = runner.invoke(args=[
        "user", "create", "Sato@Support.example", "--role", "technician", "--name", "佐藤 健",
        "--technician", str(world.technician), "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    with app.app_context():
        created = db.session.scalars(select(User).filter_by(
            email="sato@support.example")).one()
        assert (created.role, created.technician_id) == ("technician", world.technician)
    response = client.post("/login", data={"email": "sato@support.example",
                                           "password": PASSWORD,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302
    assert client.get("/tech/").status_code == 200


@pytest.mark.parametrize("args,message", [
    (["--role", "technician"], "needs --technician"),
    (["--role", "technician", "--technician", "999999"], "No technician has the id 999999"),
    (["--role", "technician", "--technician", "0"], "--technician"),
    (["--role", "desk", "--technician", "TECH"], "only for --role technician"),
    (["--role", "customer", "--organization", "ORG", "--technician", "TECH"],
     "only for --role technician"),
])
def test_user_create_refuses_a_wrong_technician_link_and_writes_nothing(app, runner, world,
                                                                       args, message):
    with app.app_context():
        code = db.session.get(Organization, world.org_a).code
    args = [{"TECH": str(world.technician), "ORG": code}.get(a, a) for a in args]
    before = users(app)
    result = runner.invoke(args=["user", "create", "sato@support.example", "--name", "佐藤",
                                 "--password", PASSWORD, *args])
    assert result.exit_code != 0
    assert message in result.output
    assert users(app) == before


def test_the_phones_created_by_command_are_unique_across_organizations(app, runner):
    first = runner.invoke(args=["org", "create", "A1", "--name", "甲", "--prefecture", "13",
                                "--phone", "03-5555-0101"])
    second = runner.invoke(args=["org", "create", "A2", "--name", "乙", "--prefecture", "13",
                                 "--phone", "(03) 5555-0101"])
    assert (first.exit_code, second.exit_code != 0) == (0, True)
    with app.app_context():
        assert db.session.scalar(select(func.count(OrganizationPhone.id))) == 1
        assert db.session.scalar(select(func.count(Organization.id))) == 1
