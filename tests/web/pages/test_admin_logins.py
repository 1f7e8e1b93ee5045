"""The admin's users and API tokens pages: listing, revoking a token, deactivating a user
(sessions end, tokens revoked); other roles are refused; a form without its confirmation
changes nothing."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, User
from app.testkit import factories
from app.testkit.helpers import csrf_token


@pytest.fixture
def admin(login, world):
    return login(world.emails["admin"])


def revoked_prefixes(app):
    with app.app_context():
        return set(db.session.scalars(select(ApiToken.prefix).where(
            ApiToken.revoked_at.isnot(None))))


def active(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).active


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_the_admin_sees_every_token_with_its_user_and_the_link_to_the_page(admin, world):
    page = admin.get("/admin/tokens")
    assert page.status_code == 200
    for role in ("desk", "customer", "insurer"):
        assert f"{world.tokens[role][:12]}…" in page.text
        assert world.emails[role] in page.text
    assert 'href="/admin/tokens"' in page.text and 'href="/admin/users"' in page.text
    assert world.tokens["desk"] not in page.text  # never the whole token


def test_the_admin_revokes_a_token_and_the_api_refuses_it(app, admin, client, world):
    with app.app_context():
        desk_token = db.session.scalars(select(ApiToken).where(
            ApiToken.user_id == world.users["desk"])).one()
    token = csrf_token(admin, "/admin/tokens")
    response = admin.post(f"/admin/tokens/{desk_token.id}/revoke",
                          data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 302
    assert revoked_prefixes(app) == {desk_token.prefix}
    assert client.get("/api/v1/incidents", headers=bearer(world.tokens["desk"])) \
        .status_code == 401


def test_revoking_without_the_confirmation_changes_nothing(app, admin, world):
    token = csrf_token(admin, "/admin/tokens")
    response = admin.post("/admin/tokens/1/revoke", data={"csrf_token": token})
    assert response.status_code == 422
    assert revoked_prefixes(app) == set()


def test_revoking_without_a_csrf_token_changes_nothing(app, admin):
    assert admin.post("/admin/tokens/1/revoke", data={"confirm": "y"}).status_code == 400
    assert revoked_prefixes(app) == set()


@pytest.mark.parametrize("role", ["dispatcher", "desk", "customer"])
def test_other_roles_may_not_see_or_revoke_tokens(app, login, world, role):
    client = login(world.emails[role])
    assert client.get("/admin/tokens").status_code == 403
    assert client.get("/admin/users").status_code == 403
    token = csrf_token(client, "/report")
    assert client.post("/admin/tokens/1/revoke",
                       data={"csrf_token": token, "confirm": "y"}).status_code == 403
    assert client.post(f"/admin/users/{world.users['desk']}/deactivate",
                       data={"csrf_token": token, "confirm": "y"}).status_code == 403
    assert revoked_prefixes(app) == set() and active(app, world.users["desk"])


def test_deactivating_a_user_ends_their_session_and_revokes_their_tokens(
        app, admin, login, world):
    desk = app.test_client()
    login_token = csrf_token(desk, "/login")
    desk.post("/login", data={"email": world.emails["desk"], "password": factories.PASSWORD,
                              "csrf_token": login_token})
    assert desk.get("/desk/").status_code == 200
    token = csrf_token(admin, "/admin/users")
    response = admin.post(f"/admin/users/{world.users['desk']}/deactivate",
                          data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 302
    assert not active(app, world.users["desk"])
    assert revoked_prefixes(app) == {world.tokens["desk"][:12]}
    assert desk.get("/desk/").status_code == 302
    assert admin.get("/api/v1/incidents", headers=bearer(world.tokens["desk"])) \
        .status_code == 401
    assert f"/admin/users/{world.users['desk']}/deactivate" not in \
        admin.get("/admin/users").text


def test_an_admin_may_not_deactivate_themself_and_nothing_changes(app, admin, world):
    token = csrf_token(admin, "/admin/users")
    response = admin.post(f"/admin/users/{world.users['admin']}/deactivate",
                          data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 409
    assert active(app, world.users["admin"]) and revoked_prefixes(app) == set()


def test_deactivating_an_unknown_user_is_a_404(admin):
    token = csrf_token(admin, "/admin/users")
    assert admin.post("/admin/users/999999/deactivate",
                      data={"csrf_token": token, "confirm": "y"}).status_code == 404
