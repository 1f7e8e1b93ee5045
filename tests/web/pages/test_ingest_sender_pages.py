"""The admin's syslog senders and default sensor name of an ingest key (the keys page)."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AdminChange, IngestKey, IngestSender, Organization
from app.services.monitoring import senders
from app.services.monitoring.receiver import Counters, Store
from app.testkit.helpers import csrf_token


def keys_path(world):
    return f"/admin/organizations/{world.org_a}/ingest-keys"


@pytest.fixture
def key_id(app, world):
    with app.app_context():
        plain = senders.create_bound_key(db.session.get(Organization, world.org_a))
        key = db.session.scalars(select(IngestKey).where(IngestKey.prefix == plain[:12])).one()
        db.session.remove()
    return key.id


@pytest.fixture
def admin(login, world):
    return login(world.emails["admin"])


def bound(app):
    with app.app_context():
        result = [s.network for s in db.session.scalars(
            select(IngestSender).order_by(IngestSender.network))]
        db.session.remove()
    return result


def changes(app):
    with app.app_context():
        value = db.session.scalar(select(func.count(AdminChange.id)))
        db.session.remove()
    return value


def test_an_admin_binds_and_removes_senders_and_each_change_is_logged(
        app, admin, world, key_id):
    token, before = csrf_token(admin, keys_path(world)), changes(app)
    path = f"/admin/ingest-keys/{key_id}/senders"
    answer = admin.post(path + "?lang=en", data={"csrf_token": token, "network": "192.0.2.7"})
    assert answer.status_code == 302 and answer.location.endswith(keys_path(world))
    admin.post(path, data={"csrf_token": token, "network": "2001:db8::/48"})
    assert bound(app) == ["192.0.2.7/32", "2001:db8::/48"]
    page = admin.get(keys_path(world) + "?lang=en").text
    assert "<code>192.0.2.7/32</code>" in page and "192.0.2.7/32 now sends as key" in page
    with app.app_context():
        sender_id = db.session.scalar(select(IngestSender.id).where(
            IngestSender.network == "192.0.2.7/32"))
        db.session.remove()
    removed = admin.post(path + "/remove", data={"csrf_token": token,
                                                 "sender_id": str(sender_id)})
    assert removed.status_code == 302 and bound(app) == ["2001:db8::/48"]
    assert changes(app) == before + 3


def test_a_bad_or_taken_sender_is_refused_and_changes_nothing(app, admin, world, key_id):
    with app.app_context():
        senders.create_bound_key(db.session.get(Organization, world.org_b), ["198.51.100.0/24"])
        db.session.remove()
    token, before = csrf_token(admin, keys_path(world)), changes(app)
    path = f"/admin/ingest-keys/{key_id}/senders?lang=en"
    bad = admin.post(path, data={"csrf_token": token, "network": "fw.example.jp"})
    assert bad.status_code == 422 and "is not an IPv4 or IPv6 address or CIDR" in bad.text
    taken = admin.post(path, data={"csrf_token": token, "network": "198.51.100.9/24"})
    assert taken.status_code == 409 and "is already bound to the active key" in taken.text
    empty = admin.post(path, data={"csrf_token": token, "network": ""})
    assert empty.status_code == 422
    missing = admin.post(f"/admin/ingest-keys/{key_id}/senders/remove",
                         data={"csrf_token": token, "sender_id": "999"})
    assert missing.status_code == 404
    assert bound(app) == ["198.51.100.0/24"] and changes(app) == before


def test_the_default_sensor_name_is_set_and_cleared_back_to_the_organizations_code(
        app, admin, world, key_id):
    token = csrf_token(admin, keys_path(world))
    path = f"/admin/ingest-keys/{key_id}/sensor"
    assert admin.post(path, data={"csrf_token": token, "sensor": "fgt-honsha"}).status_code \
        == 302
    assert '<code>fgt-honsha</code>' in admin.get(keys_path(world)).text
    long_name = admin.post(path, data={"csrf_token": token, "sensor": "x" * 201})
    assert long_name.status_code == 422
    admin.post(path, data={"csrf_token": token, "sensor": ""})
    with app.app_context():
        key = db.session.get(IngestKey, key_id)
        assert key.sensor == "" and key.default_sensor == key.organization.code
        db.session.remove()


def test_without_csrf_or_as_a_dispatcher_nothing_changes(app, admin, login, world, key_id):
    assert admin.post(f"/admin/ingest-keys/{key_id}/senders",
                      data={"network": "192.0.2.1"}).status_code == 400
    client = login(world.emails["dispatcher"])
    token = csrf_token(client, "/desk/")
    assert client.post(f"/admin/ingest-keys/{key_id}/senders",
                       data={"csrf_token": token, "network": "192.0.2.1"}).status_code == 403
    assert client.post(f"/admin/ingest-keys/{key_id}/sensor",
                       data={"csrf_token": token, "sensor": "x"}).status_code == 403
    assert bound(app) == []


def test_a_revoked_key_shows_its_senders_without_forms_and_refuses_new_ones(
        app, admin, world, key_id):
    token = csrf_token(admin, keys_path(world))
    admin.post(f"/admin/ingest-keys/{key_id}/senders",
               data={"csrf_token": token, "network": "192.0.2.5"})
    admin.post(f"/admin/ingest-keys/{key_id}/revoke", data={"csrf_token": token, "confirm": "y"})
    page = admin.get(keys_path(world)).text
    assert "<code>192.0.2.5/32</code>" in page and 'class="inline add-sender"' not in page
    again = admin.post(f"/admin/ingest-keys/{key_id}/senders?lang=en",
                       data={"csrf_token": token, "network": "192.0.2.6"})
    assert again.status_code == 409 and "was revoked" in again.text


def test_a_client_certificate_is_bound_by_its_fingerprint_and_unbound(
        app, admin, world, key_id):
    token = csrf_token(admin, keys_path(world))
    path = f"/admin/ingest-keys/{key_id}/certificate?lang=en"
    colons = ":".join(["AB"] * 32)
    bad = admin.post(path, data={"csrf_token": token, "cert_fingerprint": "AB:CD"})
    assert bad.status_code == 422 and "is not a SHA-256 certificate fingerprint" in bad.text
    assert admin.post(path, data={"csrf_token": token, "cert_fingerprint": colons}) \
        .status_code == 302
    page = admin.get(keys_path(world) + "?lang=en").text
    assert f"<code>{'ab' * 32}</code>" in page and "is now bound to the certificate" in page
    admin.post(path, data={"csrf_token": token, "cert_fingerprint": ""})
    with app.app_context():
        assert db.session.get(IngestKey, key_id).cert_fingerprint is None
        db.session.remove()


def test_an_unknown_senders_lines_show_on_the_desks_refused_page(app, login, world):
    Store(app, Counters()).store("198.51.100.23", [b"<134>1 - fw - - - <script>x</script>"])
    page = login(world.emails["desk"]).get("/desk/alerts/refused?lang=en").text
    assert "unknown sender 198.51.100.23 (1 message(s))" in page
    assert "syslog from 198.51.100.23" in page
    assert "&lt;script&gt;" in page and "<script>x" not in page
