"""Which ingest key a syslog sender is bound to (pure: addresses, networks, certificates).

A key names its senders as networks (CIDRs; a single address is a /32 or /128). An address
goes to the most specific network that holds it, so a /32 for one appliance can sit inside a
/24 bound to another organization's key. A TLS sender may instead be known by the SHA-256
fingerprint of its client certificate, which wins over its address.
"""

import hashlib
import ipaddress
import re

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


class SenderNetworkError(ValueError):
    """A sender that is no IPv4 or IPv6 address or network."""


def parse_network(text):
    """The network a sender text names, normalized ("192.0.2.7" -> 192.0.2.7/32; host bits
    of a CIDR are cleared: "192.0.2.7/24" -> 192.0.2.0/24)."""
    value = str(text or "").strip()
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise SenderNetworkError(
            f"{value[:64]!r} is not an IPv4 or IPv6 address or CIDR") from None
    return _unmapped_network(network)


def parse_fingerprint(text):
    """A certificate's SHA-256 fingerprint as 64 lower-case hex digits; colons, spaces and
    upper case are accepted ("AB:CD:…", as openssl x509 -fingerprint -sha256 prints it)."""
    value = re.sub(r"[\s:]", "", str(text or "")).lower()
    value = value.removeprefix("sha256fingerprint=")
    if not _FINGERPRINT.fullmatch(value):
        raise SenderNetworkError(f"{str(text)[:100]!r} is not a SHA-256 certificate "
                                 "fingerprint (64 hex digits)")
    return value


def certificate_fingerprint(der):
    """The SHA-256 fingerprint (hex) of a DER certificate."""
    return hashlib.sha256(der).hexdigest()


def parse_address(text):
    """A sender's address; an IPv4 address seen through an IPv6 socket (::ffff:a.b.c.d) is
    the IPv4 address it carries."""
    address = ipaddress.ip_address(str(text).split("%", 1)[0])
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _unmapped_network(network):
    """An IPv4-mapped IPv6 network as the IPv4 network it means."""
    if network.version == 6 and network.network_address.ipv4_mapped is not None \
            and network.prefixlen >= 96:
        return ipaddress.ip_network(
            f"{network.network_address.ipv4_mapped}/{network.prefixlen - 96}")
    return network


class SenderTable:
    """Networks bound to keys; `resolve(address)` gives the key of the most specific one."""

    def __init__(self, bindings):
        """bindings: (network text or object, key id) pairs."""
        self._by_length = {}  # (version, prefix length) -> {network address int: key id}
        for network, key_id in bindings:
            network = parse_network(network)
            table = self._by_length.setdefault((network.version, network.prefixlen), {})
            table[int(network.network_address)] = key_id
        self._order = sorted(self._by_length, key=lambda vl: -vl[1])
        self._cache = {}

    def __len__(self):
        return sum(len(table) for table in self._by_length.values())

    def resolve(self, address):
        """The key id bound to address (text or ip_address), None when no network holds it
        or it is no address."""
        if address not in self._cache:
            self._cache[address] = self._lookup(address)
        return self._cache[address]

    def _lookup(self, address):
        try:
            ip = parse_address(address)
        except ValueError:
            return None
        value, bits = int(ip), ip.max_prefixlen
        for version, length in self._order:
            if version != ip.version:
                continue
            mask = ((1 << length) - 1) << (bits - length) if length else 0
            key_id = self._by_length[(version, length)].get(value & mask)
            if key_id is not None:
                return key_id
        return None
