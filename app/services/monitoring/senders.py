"""Syslog senders bound to ingest keys, the keys' default sensor names, and the table the
syslog receiver resolves a source address with.

A network (address or CIDR) is bound to at most one active key: two organizations cannot
claim the same sender. Overlapping networks are allowed; the most specific one wins
(app/domain/syslog_senders.py). Every change is written to the admin change log as an
update of the key, its senders listed in the before and after snapshots.
"""

from sqlalchemy import select

from app.domain.syslog_senders import (
    SenderNetworkError,
    SenderTable,
    parse_fingerprint,
    parse_network,
)
from app.domain.timeutil import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import IngestKey, IngestSender
from app.services import admin_log
from app.services.monitoring import ingest

SENSOR_MAX = 200


def parse_networks(texts):
    """The normalized networks of sender texts (duplicates dropped, order kept);
    InvalidInput naming the first bad one."""
    networks = []
    for text in texts:
        try:
            network = str(parse_network(text))
        except SenderNetworkError as error:
            raise InvalidInput(str(error), {"sender": str(text)[:64]}) from None
        if network not in networks:
            networks.append(network)
    return networks


def clean_sensor(name):
    """A sensor name as stored: trimmed; InvalidInput when too long or holding controls."""
    name = str(name or "").strip()
    if len(name) > SENSOR_MAX or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidInput(f"A sensor name is at most {SENSOR_MAX} printable characters.",
                           {"sensor": name[:SENSOR_MAX]})
    return name


def clean_fingerprint(text):
    """A certificate fingerprint as stored ("" or None: none); InvalidInput otherwise."""
    if not str(text or "").strip():
        return None
    try:
        return parse_fingerprint(text)
    except SenderNetworkError as error:
        raise InvalidInput(str(error), {"cert_fingerprint": str(text)[:100]}) from None


def _refuse_taken_fingerprint(fingerprint, except_key_id=None):
    if fingerprint is None:
        return
    prefix = db.session.scalar(select(IngestKey.prefix).where(
        IngestKey.cert_fingerprint == fingerprint, IngestKey.revoked_at.is_(None),
        IngestKey.id != (except_key_id or 0)))
    if prefix:
        raise Conflict(f"That certificate is already bound to the active key {prefix}….",
                       {"cert_fingerprint": fingerprint, "key": prefix})


def _taken(networks, except_key_id=None):
    """{network: the prefix of the active key it is bound to} among networks."""
    if not networks:
        return {}
    rows = db.session.execute(
        select(IngestSender.network, IngestKey.prefix)
        .join(IngestKey, IngestKey.id == IngestSender.ingest_key_id)
        .where(IngestSender.network.in_(networks), IngestKey.revoked_at.is_(None),
               IngestKey.id != (except_key_id or 0))).all()
    return dict(rows)


def _refuse_taken(networks, except_key_id=None):
    taken = _taken(networks, except_key_id)
    if taken:
        network, prefix = next(iter(taken.items()))
        raise Conflict(f"The sender {network} is already bound to the active key {prefix}….",
                       {"sender": network, "key": prefix})


def _snapshot(key):
    return admin_log.snapshot(key, senders=[s.network for s in senders_of(key)])


def senders_of(key):
    """The key's bound senders, by network."""
    return db.session.scalars(select(IngestSender).where(
        IngestSender.ingest_key_id == key.id).order_by(IngestSender.network)).all()


def create_bound_key(organization, senders=(), sensor="", now=None, *, actor=None,
                     cert_fingerprint=None):
    """A new key (ingest.create_ingest_key) bound to senders (and a TLS client certificate)
    with a sensor name; everything is checked first, so a bad or taken sender creates
    nothing. The plain key."""
    networks, sensor = parse_networks(senders), clean_sensor(sensor)
    fingerprint = clean_fingerprint(cert_fingerprint)
    _refuse_taken(networks)
    _refuse_taken_fingerprint(fingerprint)
    plain = ingest.create_ingest_key(organization, now, actor=actor)
    if networks or sensor or fingerprint:
        key = db.session.scalars(select(IngestKey).where(
            IngestKey.prefix == plain[:ingest.PREFIX_LENGTH])).one()
        _change(key, networks, (), sensor, now, actor, fingerprint)
    return plain


def set_cert_fingerprint(key, text, now=None, *, actor=None):
    """Bind the key to a TLS client certificate's SHA-256 ("" unbinds); the stored form."""
    fingerprint = clean_fingerprint(text)
    if fingerprint:
        _require_active(key)
    _refuse_taken_fingerprint(fingerprint, key.id)
    _change(key, (), (), None, now, actor, fingerprint or "")
    return fingerprint


def bind_sender(key, sender, now=None, *, actor=None):
    """Bind one more sender to an active key; the normalized network."""
    (network,) = parse_networks([sender])
    _require_active(key)
    if network in [s.network for s in senders_of(key)]:
        raise Conflict(f"The sender {network} is already bound to this key.",
                       {"sender": network})
    _refuse_taken([network], key.id)
    _change(key, [network], (), None, now, actor)
    return network


def unbind_sender(key, sender_id, now=None, *, actor=None):
    """Remove one of the key's senders (by its row id); the network removed."""
    row = db.session.get(IngestSender, sender_id)
    if row is None or row.ingest_key_id != key.id:
        raise NotFound("The sender is not bound to this key.")
    _change(key, (), [row], None, now, actor)
    return row.network


def set_sensor(key, sensor, now=None, *, actor=None):
    """Set the key's default sensor name ("": the sender's address, else the organization's
    code; ingest._default_sensor)."""
    _change(key, (), (), clean_sensor(sensor), now, actor)


def _require_active(key):
    if key.revoked_at is not None:
        raise Conflict("The ingest key was revoked: bind senders to an active key.",
                       {"prefix": key.prefix})


def _change(key, added, removed, sensor, now, actor, fingerprint=None):
    """Apply one change to a key's senders, sensor and certificate ("" unbinds it), log it,
    commit."""
    before = _snapshot(key)
    now = now or utcnow()
    for network in added:
        db.session.add(IngestSender(ingest_key_id=key.id, network=network, created_at=now))
    for row in removed:
        db.session.delete(row)
    if sensor is not None:
        key.sensor = sensor
    if fingerprint is not None:
        key.cert_fingerprint = fingerprint or None
    db.session.flush()
    admin_log.record(actor, "ingest_key", "updated", key, before, after=_snapshot(key),
                     now=now)
    db.session.commit()


def sender_table():
    """The receiver's table of active keys' senders (one query)."""
    rows = db.session.execute(
        select(IngestSender.network, IngestSender.ingest_key_id)
        .join(IngestKey, IngestKey.id == IngestSender.ingest_key_id)
        .where(IngestKey.revoked_at.is_(None))).all()
    return SenderTable([(network, key_id) for network, key_id in rows])


def certificate_table():
    """{certificate fingerprint: key id} of the active keys bound to one."""
    return dict(db.session.execute(
        select(IngestKey.cert_fingerprint, IngestKey.id)
        .where(IngestKey.cert_fingerprint.is_not(None), IngestKey.revoked_at.is_(None))).all())


def active_key(key_id):
    """The key by id if still active (the receiver's table may be seconds old), else None."""
    key = db.session.get(IngestKey, key_id)
    return key if key is not None and key.revoked_at is None else None
