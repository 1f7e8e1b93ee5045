"""What kind of line a phone number is: only mobiles (and foreign numbers) take SMS."""

import pytest

from app.domain.phones import clean_phone, normalize_phone, phone_kind, takes_sms
from app.errors import InvalidInput


@pytest.mark.parametrize("raw, kind", [
    ("090-1234-5678", "mobile"),
    ("080 1234 5678", "mobile"),
    ("070-1234-5678", "mobile"),
    ("+819012345678", "mobile"),
    ("+81 90 1234 5678", "mobile"),
    ("+81 (0)90-1234-5678", "mobile"),  # the trunk 0 kept after the country code
    ("819012345678", "mobile"),
    ("０９０－１２３４－５６７８", "mobile"),  # full-width digits and hyphen
    ("０９０ー１２３４ー５６７８", "mobile"),  # katakana long mark typed as a dash
    ("050-1234-5678", "ip"),
    ("+815012345678", "ip"),
    ("0120-123-456", "free_dial"),
    ("0800-123-4567", "free_dial"),
    ("03-1234-5678", "landline"),
    ("+81312345678", "landline"),
    ("06-6123-4567", "landline"),
    ("0466-12-3456", "landline"),
    ("011-123-4567", "landline"),
    ("0570-123-456", "unknown"),  # navi dial: no SMS, not a subscriber's line
    ("020-1234-5678", "unknown"),
    ("090-1234-567", "unknown"),  # a digit short
    ("03-1234-56789", "unknown"),  # a digit too many
    ("+14155550100", "foreign"),
    ("+44 20 7946 0958", "foreign"),
    ("", "unknown"),
    ("anonymous", "unknown"),
    (None, "unknown"),
])
def test_phone_kind(raw, kind):
    assert phone_kind(raw) == kind


@pytest.mark.parametrize("raw, texted", [
    ("090-1234-5678", True), ("+14155550100", True), ("03-1234-5678", False),
    ("050-1234-5678", False), ("0120-123-456", False), ("", False),
])
def test_only_mobiles_and_foreign_numbers_take_sms(raw, texted):
    assert takes_sms(raw) is texted


def test_full_width_numbers_are_stored_in_ascii():
    assert normalize_phone("０３（１２３４）５６７８") == "+81312345678"
    assert clean_phone("＋８１ ９０ １２３４ ５６７８") == "+819012345678"


def test_a_malformed_number_is_still_refused():
    with pytest.raises(InvalidInput):
        clean_phone("03-1234-5678 ext. 9")
