"""Sessions end on the server: logout, a new password and deactivation end every session of
the user; a session ends after SESSION_IDLE_MINUTES unused and SESSION_ABSOLUTE_HOURS after
its login. The clock of app/auth.py is frozen; a captured cookie is replayed by a second
client, as a thief would."""

from datetime import datetime, timedelta

import pytest

import app.auth
from app.extensions import db
from app.models import User
from app.services.actors import CommandLineOperator
from app.services.directory import users
from app.testkit import factories
from app.testkit.helpers import csrf_token

START = datetime(2026, 12, 1, 9, 0)


@pytest.fixture
def clock(monkeypatch):
    """The session clock, moved by `clock.advance(minutes=...)`."""
    class Clock:
        now = START

        def advance(self, **delta):
            self.now += timedelta(**delta)

    frozen = Clock()
    monkeypatch.setattr(app.auth, "utcnow", lambda: frozen.now)
    return frozen


def logged_in(app, login, email):
    """A client logged in as `email`, and a copy of its session cookie."""
    client = login(email)
    return client, client.get_cookie("session").value


def replay(app, cookie):
    """A fresh client presenting a captured session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def sent_to_login(response):
    return response.status_code == 302 and \
        response.headers["Location"].split("?")[0].endswith("/login")


def test_a_cookie_captured_before_logout_is_refused_after_it(app, login, world, clock):
    client, cookie = logged_in(app, login, world.emails["desk"])
    assert replay(app, cookie).get("/desk/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/desk/")})
    assert sent_to_login(replay(app, cookie).get("/desk/"))


def test_logout_ends_the_users_sessions_in_other_browsers_too(app, login, world, clock):
    first, _cookie = logged_in(app, login, world.emails["desk"])
    second = app.test_client()
    token = csrf_token(second, "/login")
    second.post("/login", data={"email": world.emails["desk"], "password": factories.PASSWORD,
                                "csrf_token": token})
    second.post("/logout", data={"csrf_token": csrf_token(second, "/desk/")})
    assert sent_to_login(first.get("/desk/"))


def test_a_new_password_ends_every_session_of_the_old_one(app, login, world, clock):
    _client, cookie = logged_in(app, login, world.emails["desk"])
    with app.app_context():
        db.session.get(User, world.users["desk"]).set_password("a brand new password")
        db.session.commit()
    assert sent_to_login(replay(app, cookie).get("/desk/"))


def test_deactivating_a_user_ends_their_sessions(app, login, world, clock):
    _client, cookie = logged_in(app, login, world.emails["desk"])
    with app.app_context():
        users.deactivate_user(CommandLineOperator(), world.users["desk"])
    assert sent_to_login(replay(app, cookie).get("/desk/"))


def test_a_session_unused_for_the_idle_time_ends(app, login, world, clock):
    client, _cookie = logged_in(app, login, world.emails["desk"])
    assert app.config["SESSION_IDLE_MINUTES"] == 120
    clock.advance(minutes=119)
    assert client.get("/desk/").status_code == 200  # used: the idle time starts again
    clock.advance(minutes=119)
    assert client.get("/desk/").status_code == 200
    clock.advance(minutes=121)
    assert sent_to_login(client.get("/desk/"))
    assert sent_to_login(client.get("/desk/"))  # and it stays ended


def test_a_session_ends_at_its_absolute_lifetime_however_busy(app, login, world, clock):
    client, _cookie = logged_in(app, login, world.emails["desk"])
    assert app.config["SESSION_ABSOLUTE_HOURS"] == 12
    for _step in range(11):
        clock.advance(hours=1)
        assert client.get("/desk/").status_code == 200
    clock.advance(minutes=61)
    assert sent_to_login(client.get("/desk/"))


def test_a_session_id_without_its_epoch_or_times_is_refused(app, world, clock):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(world.users["desk"])  # a cookie from before the epoch
    assert sent_to_login(client.get("/desk/"))


def test_no_cookie_is_accepted_for_longer_than_the_absolute_lifetime(app):
    assert app.permanent_session_lifetime == timedelta(hours=12)
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(hours=12)


@pytest.fixture
def hash_checks(monkeypatch):
    """The password hashes the login checks, in order."""
    checked = []
    real = app.auth.check_password_hash

    def spy(stored, password):
        checked.append(stored)
        return real(stored, password)

    monkeypatch.setattr(app.auth, "check_password_hash", spy)
    return checked


def post_login(client, email, password):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token})


@pytest.mark.parametrize("who", ["unknown", "inactive", "wrong password"])
def test_every_refused_login_checks_one_hash_of_the_configured_method(
        app, client, world, hash_checks, who):
    email = "nobody@example.jp" if who == "unknown" else world.emails["desk"]
    if who == "inactive":
        with app.app_context():
            users.deactivate_user(CommandLineOperator(), world.users["desk"])
    assert post_login(client, email, "wrong guess 123").status_code == 401
    method = app.config["PASSWORD_HASH_METHOD"]
    assert len(hash_checks) == 1 and hash_checks[0].startswith(method + "$")


def test_the_right_password_checks_the_users_own_hash(app, client, world, hash_checks):
    assert post_login(client, world.emails["desk"], factories.PASSWORD).status_code == 302
    with app.app_context():
        assert hash_checks == [db.session.get(User, world.users["desk"]).password_hash]
