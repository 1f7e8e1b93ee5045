"""Syslog framing: octet counting and LF framing on one stream, frames split across reads,
frames over the limit refused without losing the ones after them, datagrams, decoding."""

import pytest

from app.domain.syslog_framing import (
    StreamDecoder,
    datagram_message,
    decode_message,
    strip_message,
)

FIRST = b"<34>1 2026-12-06T10:00:00Z host app - - - one"
SECOND = "<13>Dec  6 10:00:01 host app: two ünï".encode()


def counted(message):
    return str(len(message)).encode() + b" " + message


def test_octet_counted_and_lf_frames_are_told_apart_per_frame_on_one_stream():
    decoder = StreamDecoder()
    stream = counted(FIRST) + SECOND + b"\n" + counted(FIRST) + counted(SECOND)
    assert decoder.feed(stream) == [FIRST, SECOND, FIRST, SECOND]
    assert decoder.refused == []


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 50])
def test_frames_split_across_reads_at_any_byte_are_reassembled(chunk):
    decoder = StreamDecoder()
    stream = counted(FIRST) + SECOND + b"\r\n" + counted(SECOND + b"\n") + FIRST + b"\n"
    messages = []
    for start in range(0, len(stream), chunk):
        messages += decoder.feed(stream[start:start + chunk])
    assert messages == [FIRST, SECOND, SECOND, FIRST]
    assert decoder.close() == []


def test_the_count_is_awaited_and_a_partial_frame_gives_nothing_yet():
    decoder = StreamDecoder()
    assert decoder.feed(b"4") == []
    assert decoder.feed(b"5 <34>1") == []
    assert decoder.feed(FIRST[5:]) == [FIRST]


def test_a_last_line_without_lf_is_taken_at_the_end_of_the_stream():
    decoder = StreamDecoder()
    assert decoder.feed(SECOND) == []
    assert decoder.close() == [SECOND]


def test_a_stream_closed_inside_a_counted_frame_refuses_the_fragment():
    decoder = StreamDecoder()
    assert decoder.feed(counted(FIRST)[:20]) == []
    assert decoder.close() == []
    assert [r.reason for r in decoder.refused] == ["connection closed inside a counted frame"]


def test_an_iso_timestamp_or_a_digit_run_without_a_space_is_a_line_not_a_count():
    decoder = StreamDecoder()
    iso = b"2026-12-06T10:00:00+09:00 192.0.2.1 CEF:0|a|b|1|1|n|5|"
    assert decoder.feed(iso + b"\n" + b"12345678901234 x\n") == [iso, b"12345678901234 x"]


def test_separators_and_empty_lines_between_frames_give_no_messages():
    decoder = StreamDecoder()
    assert decoder.feed(b"\n\r\n" + counted(FIRST) + b"\n\x00\n" + counted(FIRST)) == [
        FIRST, FIRST]


def test_a_counted_frame_over_the_limit_is_refused_and_skipped_by_its_count():
    decoder = StreamDecoder(max_frame=100)
    big = b"<34>1 " + b"x" * 500
    stream = counted(big) + counted(FIRST)
    messages = decoder.feed(stream[:30]) + decoder.feed(stream[30:300])
    messages += decoder.feed(stream[300:])
    assert messages == [FIRST]
    assert [(r.size, r.reason) for r in decoder.refused] == [
        (506, "frame of 506 bytes is over the limit of 100")]


def test_a_line_over_the_limit_is_refused_up_to_its_lf():
    decoder = StreamDecoder(max_frame=100)
    messages = decoder.feed(b"<13>" + b"y" * 150) + decoder.feed(b"y" * 100)
    messages += decoder.feed(b"yyy\n" + SECOND + b"\n")
    assert messages == [SECOND]
    assert len(decoder.refused) == 1 and "longer than the limit of 100" in \
        decoder.refused[0].reason
    assert decoder.feed(b"<13>" + b"z" * 120 + b"\n" + FIRST + b"\n") == [FIRST]
    assert len(decoder.refused) == 2


def test_a_datagram_is_one_message_without_its_trailing_newline_or_nul():
    assert datagram_message(FIRST + b"\n\x00") == FIRST
    assert datagram_message(b"\n") is None
    assert strip_message(b"a b\r\n") == b"a b"


def test_messages_decode_as_utf8_else_shift_jis_else_with_replacement_characters():
    assert decode_message(b"\xef\xbb\xbf" + "検知".encode()) == "検知"
    assert decode_message("検知".encode("cp932")) == "検知"
    assert decode_message(b"bad \xff\xfe end") == "bad \ufffd\ufffd end"
