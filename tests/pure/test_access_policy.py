"""The access policy is one table: every action names real roles, and no page, template or
view compares role names itself (they ask app/access.py)."""

import re
from pathlib import Path

from app import access
from app.models.people import ROLES

ROOT = Path(__file__).resolve().parents[2]
ROLE_TEST = re.compile(r"\.role\s*(==|!=|\bin\b|\bnot in\b)")


def test_every_action_names_known_roles_and_says_what_is_refused():
    for action, permission in access.PERMISSIONS.items():
        assert permission.roles and set(permission.roles) <= set(ROLES), action
        assert permission.doing and not permission.doing.endswith("."), action


def test_can_answers_from_the_table_and_refuses_anonymous_users():
    desk = type("User", (), {"role": "desk"})()
    assert access.can(desk, "costs.decide") and not access.can(desk, "dispatch.direct")
    assert not access.can(object(), "reports.read")


def test_no_template_or_view_compares_role_names():
    places = [*ROOT.joinpath("templates").rglob("*.html"),
              *(p for folder in ("app/web", "app/api", "app/webhooks")
                for p in ROOT.joinpath(folder).rglob("*.py"))]
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in places
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if ROLE_TEST.search(line)]
    assert found == [], "ask app/access.py (can, require) instead:\n" + "\n".join(found)
