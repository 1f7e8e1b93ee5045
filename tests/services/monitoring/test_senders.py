"""Syslog senders bound to ingest keys: the service, the `ingest-key create` options, and the
table the receiver resolves addresses with."""

from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import AdminChange, IngestKey, IngestSender, Organization
from app.services.monitoring import ingest, senders
from app.testkit import factories

NOW = datetime(2026, 12, 6, 3, 0)


@pytest.fixture
def orgs(ctx):
    world = factories.make_world()
    return (db.session.get(Organization, world["org_a"]),
            db.session.get(Organization, world["org_b"]))


def key_of(plain):
    return db.session.scalars(select(IngestKey).where(IngestKey.prefix == plain[:12])).one()


def rows():
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (IngestKey, IngestSender, AdminChange))


def test_a_key_is_created_bound_to_its_senders_with_its_sensor_name_and_logged(orgs):
    org_a, _ = orgs
    plain = senders.create_bound_key(org_a, ["192.0.2.7", "2001:db8::/48", "192.0.2.7/32"],
                                     "fgt-honsha", NOW)
    key = key_of(plain)
    assert [s.network for s in senders.senders_of(key)] == ["192.0.2.7/32", "2001:db8::/48"]
    assert key.sensor == key.default_sensor == "fgt-honsha"
    change = db.session.scalars(select(AdminChange).order_by(AdminChange.id.desc())).first()
    assert (change.kind, change.action, change.entity_id) == ("ingest_key", "updated", key.id)
    assert change.before["senders"] == [] and change.after["senders"] == [
        "192.0.2.7/32", "2001:db8::/48"]
    assert "key_hash" not in change.after


def test_without_a_sensor_name_the_default_sensor_is_the_organizations_code(orgs):
    org_a, _ = orgs
    key = key_of(senders.create_bound_key(org_a))
    assert key.sensor == "" and key.default_sensor == org_a.code
    assert senders.senders_of(key) == []


def test_a_bad_sender_or_sensor_creates_nothing(orgs):
    org_a, _ = orgs
    with pytest.raises(InvalidInput, match="'10.0.0.0/33' is not an IPv4 or IPv6"):
        senders.create_bound_key(org_a, ["192.0.2.1", "10.0.0.0/33"])
    with pytest.raises(InvalidInput, match="at most 200 printable"):
        senders.create_bound_key(org_a, ["192.0.2.1"], "bad\nname")
    assert rows() == (0, 0, 0)


def test_a_network_bound_to_an_active_key_cannot_be_bound_again(orgs):
    org_a, org_b = orgs
    first = senders.create_bound_key(org_a, ["192.0.2.0/24"])
    before = rows()
    with pytest.raises(Conflict, match=r"192.0.2.0/24 is already bound to the active key"):
        senders.create_bound_key(org_b, ["192.0.2.9/24"])
    assert rows() == before
    with pytest.raises(Conflict, match="already bound to this key"):
        senders.bind_sender(key_of(first), "192.0.2.0/24")
    # a more specific network inside it is another network: allowed, and it wins
    other = key_of(senders.create_bound_key(org_b, ["192.0.2.9"]))
    table = senders.sender_table()
    assert table.resolve("192.0.2.9") == other.id
    assert table.resolve("192.0.2.10") == key_of(first).id


def test_a_revoked_keys_networks_are_free_again_and_resolve_to_nobody(orgs):
    org_a, org_b = orgs
    first = senders.create_bound_key(org_a, ["198.51.100.1"])
    ingest.revoke_ingest_key(first[:12], now=NOW)
    assert senders.sender_table().resolve("198.51.100.1") is None
    with pytest.raises(Conflict, match="was revoked"):
        senders.bind_sender(key_of(first), "198.51.100.2")
    second = key_of(senders.create_bound_key(org_b, ["198.51.100.1"]))
    assert senders.sender_table().resolve("198.51.100.1") == second.id
    assert senders.active_key(second.id) is second
    assert senders.active_key(key_of(first).id) is None


def test_senders_are_added_and_removed_one_by_one_and_the_sensor_set(orgs):
    org_a, _ = orgs
    key = key_of(senders.create_bound_key(org_a))
    assert senders.bind_sender(key, "2001:DB8::1") == "2001:db8::1/128"
    (row,) = senders.senders_of(key)
    with pytest.raises(NotFound):
        senders.unbind_sender(key, row.id + 1)
    assert senders.unbind_sender(key, row.id) == "2001:db8::1/128"
    assert senders.senders_of(key) == []
    senders.set_sensor(key, "  utm-01 ")
    assert key.default_sensor == "utm-01"
    senders.set_sensor(key, "")
    assert key.default_sensor == org_a.code
    assert [c.after["senders"] for c in db.session.scalars(select(AdminChange).where(
        AdminChange.action == "updated").order_by(AdminChange.id))] == [
        ["2001:db8::1/128"], [], [], []]


def test_the_cli_binds_senders_and_refuses_bad_ones_clearly(app, runner):
    with app.app_context():
        code = factories.make_organization(name="乙商事").code
        db.session.commit()
    result = runner.invoke(args=["ingest-key", "create", code, "--sender", "127.0.0.1",
                                 "--sender", "::1", "--sensor", "lab"])
    assert result.exit_code == 0, result.output
    plain = result.output.strip()
    with app.app_context():
        key = key_of(plain)
        assert [s.network for s in senders.senders_of(key)] == ["127.0.0.1/32", "::1/128"]
        assert key.sensor == "lab"
        db.session.remove()
    bad = runner.invoke(args=["ingest-key", "create", code, "--sender", "localhost"])
    assert bad.exit_code == 1 and "'localhost' is not an IPv4 or IPv6 address or CIDR" in \
        bad.output
    taken = runner.invoke(args=["ingest-key", "create", code, "--sender", "127.0.0.1/32"])
    assert taken.exit_code == 1 and "127.0.0.1/32 is already bound" in taken.output
    plain_only = runner.invoke(args=["ingest-key", "create", code])
    assert plain_only.exit_code == 0 and plain_only.output.startswith("kki_")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IngestKey)) == 2
        db.session.remove()


def test_the_demo_binds_this_machine_to_the_first_organizations_key_once(app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        table = senders.sender_table()
        key = db.session.get(IngestKey, table.resolve("127.0.0.1"))
        assert table.resolve("::1") == key.id and len(table) == 2
        assert (key.organization.code, key.default_sensor) == ("TKY-0001",
                                                               "fortigate-60f-honsha")
        db.session.remove()


FINGERPRINT = "ab" * 32


def test_a_key_is_bound_to_a_client_certificate_once_among_active_keys(orgs):
    org_a, org_b = orgs
    colons = ":".join(["AB"] * 32)
    first = key_of(senders.create_bound_key(org_a, cert_fingerprint=colons))
    assert first.cert_fingerprint == FINGERPRINT
    assert senders.certificate_table() == {FINGERPRINT: first.id}
    before = rows()
    with pytest.raises(Conflict, match="certificate is already bound to the active key"):
        senders.create_bound_key(org_b, cert_fingerprint=FINGERPRINT)
    with pytest.raises(InvalidInput, match="is not a SHA-256 certificate fingerprint"):
        senders.create_bound_key(org_b, ["192.0.2.1"], cert_fingerprint="abc")
    assert rows() == before
    senders.set_cert_fingerprint(first, "")
    assert first.cert_fingerprint is None and senders.certificate_table() == {}
    second = key_of(senders.create_bound_key(org_b, cert_fingerprint=FINGERPRINT))
    ingest.revoke_ingest_key(second.prefix, now=NOW)
    assert senders.certificate_table() == {}
    assert senders.set_cert_fingerprint(first, FINGERPRINT) == FINGERPRINT
    change = db.session.scalars(select(AdminChange).order_by(AdminChange.id.desc())).first()
    assert change.after["cert_fingerprint"] == FINGERPRINT


def test_the_cli_binds_a_certificate_and_refuses_a_bad_fingerprint(app, runner):
    with app.app_context():
        code = factories.make_organization().code
        db.session.commit()
    bad = runner.invoke(args=["ingest-key", "create", code, "--cert-fingerprint", "xyz"])
    assert bad.exit_code == 1 and "is not a SHA-256 certificate fingerprint" in bad.output
    good = runner.invoke(args=["ingest-key", "create", code, "--cert-fingerprint", FINGERPRINT])
    assert good.exit_code == 0, good.output
    with app.app_context():
        assert key_of(good.output.strip()).cert_fingerprint == FINGERPRINT
        assert db.session.scalar(select(func.count()).select_from(IngestKey)) == 1
        db.session.remove()
