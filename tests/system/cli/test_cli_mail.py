"""`flask org domain add|list|remove` and `flask mail poll` refusals."""

from sqlalchemy import select

from app.extensions import db
from app.models import AdminChange, Organization, OrganizationDomain


def _code(app, world):
    with app.app_context():
        return db.session.get(Organization, world.org_a).code


def test_a_domain_is_added_listed_and_removed_with_the_admin_log(app, world, runner):
    code = _code(app, world)
    result = runner.invoke(args=["org", "domain", "add", code, "Kou.Example.JP"])
    assert result.exit_code == 0, result.output
    assert "Registered kou.example.jp" in result.output
    assert runner.invoke(args=["org", "domain", "list"]).output.strip() \
        == f"kou.example.jp\t{code}"
    assert runner.invoke(args=["org", "domain", "remove", "kou.example.jp"]).exit_code == 0
    with app.app_context():
        assert db.session.scalars(select(OrganizationDomain)).all() == []
        assert db.session.scalars(select(AdminChange.action).where(
            AdminChange.kind == "organization_domain")).all() == ["created", "deleted"]


def test_bad_domains_and_organizations_are_refused_and_change_nothing(app, world, runner):
    code = _code(app, world)
    for args in (["org", "domain", "add", code, "not a domain"],
                 ["org", "domain", "add", code, "localhost"],
                 ["org", "domain", "add", "NO-SUCH-ORG", "x.example.jp"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and "Error:" in result.output, args
    assert runner.invoke(args=["org", "domain", "add", code, "x.example.jp"]).exit_code == 0
    with app.app_context():
        other = db.session.get(Organization, world.org_b).code
    taken = runner.invoke(args=["org", "domain", "add", other, "x.example.jp"])
    assert taken.exit_code == 1 and "already registered" in taken.output
    with app.app_context():
        assert db.session.scalars(select(OrganizationDomain.domain)).all() == ["x.example.jp"]


def test_mail_poll_needs_a_readable_imap_url(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "IMAP_URL", "")
    assert "IMAP_URL is not set" in runner.invoke(args=["mail", "poll", "--once"]).output
    monkeypatch.setitem(app.config, "IMAP_URL", "http://desk@example.jp/")
    assert "IMAP_URL must look like" in runner.invoke(args=["mail", "poll", "--once"]).output
