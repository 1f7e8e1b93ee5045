"""Sender networks: parsed and normalized, refused clearly, resolved most specific first."""

import pytest

from app.domain.syslog_senders import (
    SenderNetworkError,
    SenderTable,
    certificate_fingerprint,
    parse_fingerprint,
    parse_network,
)


def test_addresses_and_cidrs_of_both_families_are_normalized():
    assert str(parse_network("192.0.2.7")) == "192.0.2.7/32"
    assert str(parse_network(" 192.0.2.7/24 ")) == "192.0.2.0/24"
    assert str(parse_network("2001:DB8::1")) == "2001:db8::1/128"
    assert str(parse_network("2001:db8::/32")) == "2001:db8::/32"
    assert str(parse_network("::ffff:192.0.2.9")) == "192.0.2.9/32"


@pytest.mark.parametrize("text", ["", "localhost", "192.0.2.300", "10.0.0.0/33", "::1/129",
                                  "192.0.2.1/24/8"])
def test_anything_else_is_refused_with_the_text_it_got(text):
    with pytest.raises(SenderNetworkError, match="is not an IPv4 or IPv6 address or CIDR"):
        parse_network(text)


def test_an_address_goes_to_the_most_specific_network_that_holds_it():
    table = SenderTable([("10.0.0.0/8", 1), ("10.1.0.0/16", 2), ("10.1.2.3", 3),
                         ("2001:db8::/32", 4), ("2001:db8:1::/48", 5), ("0.0.0.0/0", 6)])
    assert table.resolve("10.1.2.3") == 3
    assert table.resolve("10.1.2.4") == 2
    assert table.resolve("10.200.0.1") == 1
    assert table.resolve("192.0.2.1") == 6
    assert table.resolve("::ffff:10.1.2.3") == 3  # IPv4 through an IPv6 socket
    assert table.resolve("2001:db8:1::9") == 5
    assert table.resolve("2001:db8:2::9") == 4
    assert table.resolve("2001:db9::1") is None
    assert table.resolve("not an address") is None
    assert len(table) == 6


def test_an_empty_table_binds_nobody():
    assert SenderTable([]).resolve("127.0.0.1") is None


def test_certificate_fingerprints_are_read_in_the_forms_tools_print_them():
    digest = certificate_fingerprint(b"certificate")
    colons = ":".join(digest[i:i + 2] for i in range(0, 64, 2)).upper()
    assert parse_fingerprint(digest) == digest
    assert parse_fingerprint(colons) == digest  # openssl x509 -fingerprint -sha256
    assert parse_fingerprint(f"sha256 Fingerprint={colons}") == digest
    for bad in ("", "abc", digest[:-1], digest + "00", "g" * 64):
        with pytest.raises(SenderNetworkError, match="is not a SHA-256 certificate"):
            parse_fingerprint(bad)
