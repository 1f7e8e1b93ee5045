"""Japanese mail as it really arrives (tests/samples/mail/, written byte for byte)."""

import base64
from pathlib import Path

import pytest

from app.domain.mail.headers import decode_header
from app.domain.mail.japanese import decode_bytes, iso2022jp_to_text
from app.domain.mail.parse import html_to_text, parse_mail
from app.domain.mail.rules import (
    authentication_failures,
    no_auto_reply_reason,
    reference_in,
    subject_with_reference,
)

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "mail"


def sample(name):
    return parse_mail((SAMPLES / name).read_bytes())


def test_iso_2022_jp_with_nec_and_ibm_extensions_and_half_width_kana():
    mail = sample("iso2022jp_nec.eml")
    # The subject's encoded words split the JIS bytes mid-character.
    assert mail.subject == "①㈱山田商事 ㍻の件 髙﨑 ｶﾀｶﾅ"
    assert mail.from_name == "髙﨑 太郎" and mail.from_address == "takasaki@kou.example.jp"
    assert mail.text == "お世話になっております。\n①パソコンに警告が出ました。\n㈱山田商事 髙﨑 ﾃｽﾄ"


def test_pythons_own_codec_refuses_what_the_fallback_reads():
    raw = (SAMPLES / "iso2022jp_nec.eml").read_bytes().split(b"\r\n\r\n", 1)[1]
    with pytest.raises(UnicodeDecodeError):
        raw.decode("iso2022_jp")
    assert iso2022jp_to_text(raw).startswith("お世話に")


def test_shift_jis_label_is_read_as_cp932():
    mail = sample("shift_jis.eml")
    assert mail.subject == "至急①"
    assert mail.text == "①②③ ㈱ ～ 髙橋 ｱｲｳ 対応をお願いします"


def test_euc_jp_quoted_printable():
    mail = sample("euc_jp.eml")
    assert mail.subject == "身代金要求"
    assert mail.text == "ランサムウェアの画面が出ています。ファイルが開けません。"


def test_html_only_mail_becomes_text_without_markup_or_script():
    text = sample("utf8_html_only.eml").text
    assert text == "請求書を開いてしまいました&確認してください。\n\n電話番号: 03-1234-5678"
    assert "alert" not in text and "<" not in text and "color" not in text


def test_wrong_labels_and_raw_8bit_headers_are_read_by_their_bytes():
    mail = sample("wrong_labels.eml")
    assert mail.from_name == "山本"
    assert mail.subject == "文字化けしない件名"
    assert mail.text == "本文はShift_JISです①"


def test_a_forwarded_mail_is_an_attachment_with_its_headers_shown():
    mail = sample("forwarded_phish.eml")
    assert mail.text == "転送します。"
    (forwarded,) = mail.attachments
    assert (forwarded.filename, forwarded.content_type) == ("phish.eml", "message/rfc822")
    assert forwarded.forwarded_headers == {
        "From": "銀行 <info@bank-secure.example>", "To": "takasaki@kou.example.jp",
        "Date": "Tue, 24 Nov 2026 23:10:00 +0900",
        "Subject": "【重要】口座の確認をお願いします",
        "Message-ID": "<phish-123@bank-secure.example>"}
    assert b"bank-secure.example/login" in forwarded.data


@pytest.mark.parametrize("name", ["malformed.eml", "not_a_header.eml"])
def test_malformed_mail_is_read_as_far_as_it_goes_with_its_defects(name):
    mail = sample(name)
    assert mail.from_address == "broken@kou.example.jp" and mail.defects
    assert mail.message_id == "" and mail.date is None


def test_unclosed_multipart_keeps_its_text_and_its_attachment():
    mail = sample("malformed.eml")
    assert mail.text == "壊れたメール"
    assert [a.filename for a in mail.attachments] == ["x.bin"]


def test_encoded_words_split_mid_character_are_joined_before_decoding():
    data = "①の件について".encode("cp932")
    words = [f"=?shift_jis?B?{base64.b64encode(data[i:i + 3]).decode()}?="
             for i in range(0, len(data), 3)]
    assert decode_header("Re: " + "\r\n ".join(words) + " (続報)") == "Re: ①の件について (続報)"


def test_a_wrongly_labelled_encoded_word_and_undecodable_bytes_never_raise():
    assert decode_header("=?utf-8?B?" + base64.b64encode("件名".encode("euc_jp")).decode()
                         + "?=") == "件名"
    assert decode_header("=?x-unknown?Q?abc?=") == "abc"
    assert decode_bytes(b"\xff\xfe\x00garbage\x1b$B", "iso-2022-jp")  # something, no error
    assert parse_mail(b"").from_address == ""
    assert parse_mail(b"\x00\xff" * 100).text is not None


def test_html_to_text_drops_scripts_and_keeps_entities():
    assert html_to_text("<p>a&lt;b</p><script>x()</script><br>c") == "a<b\n\nc"


def test_references_and_subjects():
    assert reference_in("Re: [INC-2026-000123] 件名") == "INC-2026-000123"
    assert reference_in("INC-2026-000123 without brackets") is None
    assert subject_with_reference("Re: [INC-2026-000001] x", "INC-2026-000001") \
        == "Re: [INC-2026-000001] x"
    assert subject_with_reference("件名", "INC-2026-000001") == "[INC-2026-000001] 件名"


def _mail(*headers, sender="a@b.example"):
    lines = [f"From: {sender}", *headers, "", "x"]
    return parse_mail("\r\n".join(lines).encode())


@pytest.mark.parametrize("headers,sender", [
    (("Auto-Submitted: auto-generated",), "a@b.example"),
    (("Precedence: junk",), "a@b.example"),
    (("Precedence: list",), "a@b.example"),
    (("List-Id: <list.b.example>",), "a@b.example"),
    ((), "MAILER-DAEMON@b.example"),
    ((), "postmaster@b.example"),
])
def test_no_automatic_answer_to_automatic_or_list_mail(headers, sender):
    assert no_auto_reply_reason(_mail(*headers, sender=sender))


def test_a_person_gets_an_automatic_answer():
    assert no_auto_reply_reason(_mail("Auto-Submitted: no")) is None


def test_authentication_results_of_the_receiving_server_only():
    ours = "Authentication-Results: mx.desk.example; spf=softfail; dkim=fail; dmarc=pass"
    theirs = "Authentication-Results: mx.desk.example; spf=pass; dkim=pass; dmarc=pass"
    assert authentication_failures(_mail(ours, theirs)) == ["spf=softfail", "dkim=fail"]
    assert authentication_failures(_mail(theirs, ours)) == []
    assert authentication_failures(_mail(ours), "other.example") == []
    assert authentication_failures(_mail()) == []
