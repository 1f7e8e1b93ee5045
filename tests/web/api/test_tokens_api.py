"""API tokens over the API: the caller revokes its own token; an expired token is refused
like an unknown one (the clock of app/auth.py is frozen)."""

from datetime import datetime, timedelta

from app import auth
from app.auth import create_token
from app.extensions import db
from app.models import ApiToken, User
from tests.web.api.test_incidents_api import assert_error


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_delete_current_revokes_the_token_in_use_and_only_it(app, client, world):
    desk, admin = world.tokens["desk"], world.tokens["admin"]
    response = client.delete("/api/v1/tokens/current", headers=bearer(desk))
    assert response.status_code == 204 and response.data == b""
    assert_error(client.get("/api/v1/incidents", headers=bearer(desk)), 401, "unauthorized")
    assert_error(client.delete("/api/v1/tokens/current", headers=bearer(desk)), 401,
                 "unauthorized")
    assert client.get("/api/v1/incidents", headers=bearer(admin)).status_code == 200
    with app.app_context():
        revoked = db.session.query(ApiToken).filter(ApiToken.revoked_at.isnot(None)).all()
        assert [t.user_id for t in revoked] == [world.users["desk"]]


def test_delete_current_without_a_token_is_a_401_and_revokes_nothing(app, client, world):
    assert_error(client.delete("/api/v1/tokens/current"), 401, "unauthorized")
    with app.app_context():
        assert db.session.query(ApiToken).filter(ApiToken.revoked_at.isnot(None)).count() == 0


def test_an_expired_token_is_refused_like_an_unknown_one(app, client, world, monkeypatch):
    now = datetime(2026, 12, 1, 9, 0)
    monkeypatch.setattr(auth, "utcnow", lambda: now)
    with app.app_context():
        token = create_token(db.session.get(User, world.users["desk"]), expires_days=30)
        assert db.session.query(ApiToken).filter_by(prefix=token[:12]).one().expires_at == \
            now + timedelta(days=30)
    monkeypatch.setattr(auth, "utcnow", lambda: now + timedelta(days=30, seconds=-1))
    assert client.get("/api/v1/incidents", headers=bearer(token)).status_code == 200
    monkeypatch.setattr(auth, "utcnow", lambda: now + timedelta(days=30))
    expired = client.get("/api/v1/incidents", headers=bearer(token))
    unknown = client.get("/api/v1/incidents", headers=bearer("kkt_no-such-token"))
    assert_error(expired, 401, "unauthorized")
    assert expired.json == unknown.json
