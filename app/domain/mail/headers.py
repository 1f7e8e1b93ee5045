"""Header values as text: RFC 2047 encoded words as mailers really write them.

Adjacent encoded words are one run: their bytes are joined before decoding, because
mailers split a long subject in the middle of a multi-byte character (or of an
ISO-2022-JP escape sequence) and a word alone does not decode. The run is decoded in
the first word's charset, with japanese.decode_bytes' fallbacks for a wrong label.
Raw 8-bit header bytes (no encoded words at all) are decoded the same way.
"""

import base64
import binascii
import quopri
import re

from app.domain.mail.japanese import decode_bytes

ENCODED_WORD = re.compile(r"=\?([^?\s]+?)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN = re.compile(r"[ \t\r\n]*")


def decode_header(value):
    """The text of a header value (str from the parser, bytes, or None); never raises."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("ascii", "surrogateescape")
    value = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = decode_bytes(value.encode("ascii", "surrogateescape"), "")
    return _unfold(_decode_words(value))


def _unfold(text):
    return re.sub(r"\r?\n[ \t]*", " ", text).strip()


def _decode_words(value):
    pieces, pos, run, charset = [], 0, bytearray(), None
    for match in ENCODED_WORD.finditer(value):
        between = value[pos:match.start()]
        if run and _BETWEEN.fullmatch(between):
            pass  # whitespace between encoded words is not part of the text
        else:
            if run:
                pieces.append(decode_bytes(bytes(run), charset))
                run = bytearray()
            pieces.append(between)
            charset = match.group(1)
        run += _word_bytes(match.group(2), match.group(3))
        pos = match.end()
    if run:
        pieces.append(decode_bytes(bytes(run), charset))
    pieces.append(value[pos:])
    return "".join(pieces)


def _word_bytes(encoding, payload):
    if encoding in "bB":
        try:
            return base64.b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):
            return payload.encode("ascii", "replace")
    return quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"),
                               header=True)
