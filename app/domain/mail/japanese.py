"""Japanese text as mail really carries it: bytes in a labelled (or mislabelled) charset.

- ISO-2022-JP from Windows mailers holds NEC and IBM extension characters (①, ㈱, ㍻) that
  Python's iso2022 codecs refuse, and half-width kana (ESC ( I). Like Windows' CP50220, we
  turn the JIS rows into Shift_JIS ourselves and decode that as CP932, which has them all.
- A `shift_jis` label means CP932 in practice (Windows-31J); `euc-jp` may hold what only
  EUC-JIS-2004 has.
- A label that does not fit the bytes is tried last: the bytes decide (UTF-8, ISO-2022-JP
  when they hold an escape, CP932, EUC-JP), and only then the label with replacement marks.

Pure: bytes in, str out, never an exception.
"""

import re

ESC = 0x1B
# charset label → the codecs to try, in order (the first that decodes strictly wins)
ALIASES = {
    "shift_jis": ("cp932",), "shift-jis": ("cp932",), "sjis": ("cp932",),
    "x-sjis": ("cp932",), "ms_kanji": ("cp932",), "csshiftjis": ("cp932",),
    "windows-31j": ("cp932",), "cp932": ("cp932",), "ms932": ("cp932",),
    "euc-jp": ("euc_jp", "euc_jis_2004"), "euc_jp": ("euc_jp", "euc_jis_2004"),
    "x-euc-jp": ("euc_jp", "euc_jis_2004"), "cp51932": ("euc_jp", "euc_jis_2004"),
    "us-ascii": ("utf-8",), "ascii": ("utf-8",), "utf8": ("utf-8",),
}
ISO2022 = "iso-2022-jp"
GUESSES = ("utf-8", ISO2022, "cp932", "euc_jp")


def decode_bytes(data, charset=""):
    """Text of `data` in `charset`, or in whatever the bytes fit; never raises."""
    label = (charset or "").strip().strip('"').lower()
    for codec in _codecs_for(label) + [guess for guess in GUESSES if guess != label]:
        text = _strict(data, codec)
        if text is not None:
            return text
    return _lenient(data, label)


def _codecs_for(label):
    if label.startswith("iso-2022-jp") or label in ("csiso2022jp", "iso2022jp"):
        return [ISO2022]
    if label in ALIASES:
        return list(ALIASES[label])
    return [label] if _known(label) else []


def _known(codec):
    import codecs
    try:
        codecs.lookup(codec)
        return True
    except LookupError:
        return False


def _strict(data, codec):
    if codec == ISO2022:
        return iso2022jp_to_text(data) if ESC in data or data.isascii() else None
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _lenient(data, label):
    if ESC in data:
        return iso2022jp_to_text(data, errors="replace")
    codec = (_codecs_for(label) or ["utf-8"])[0]
    return data.decode(codec if codec != ISO2022 else "cp932", errors="replace")


# ISO-2022-JP's designations: ESC ( B / ESC ( J single bytes, ESC $ @ / ESC $ B JIS X 0208,
# ESC ( I half-width katakana; SO/SI shift into katakana too (some old mailers).
_DESIGNATION = re.compile(rb"\x1b(\(B|\(J|\$@|\$B|\(I|\$\(D|\$\(Q|\$\(O)")


def iso2022jp_to_text(data, errors="strict"):
    """ISO-2022-JP (with CP50220's NEC/IBM rows and half-width kana) to text via CP932.

    Returns None when strict and the bytes are not this encoding.
    """
    out, mode, pos = bytearray(), "ascii", 0
    while pos < len(data):
        match = _DESIGNATION.match(data, pos)
        if match:
            mode = _MODES.get(match.group(1), "other")
            pos = match.end()
            continue
        byte = data[pos]
        if byte == 0x0E:
            mode, pos = "kana", pos + 1
            continue
        if byte == 0x0F:
            mode, pos = "ascii", pos + 1
            continue
        if mode == "jis" and byte not in b"\r\n":
            pair = data[pos:pos + 2]
            if len(pair) < 2 or not (0x21 <= pair[0] <= 0x7E and 0x21 <= pair[1] <= 0x7E):
                if errors == "strict":
                    return None
                out += b"?"
                pos += 1
                continue
            out += _jis_to_sjis(pair[0], pair[1])
            pos += 2
        elif mode == "kana" and 0x21 <= byte <= 0x5F:
            out.append(byte + 0x80)
            pos += 1
        elif mode == "other" or byte >= 0x80:
            if errors == "strict":
                return None
            out += b"?"
            pos += 1
        else:
            out.append(byte)
            pos += 1
    try:
        return bytes(out).decode("cp932", errors=errors)
    except UnicodeDecodeError:
        return None


_MODES = {b"(B": "ascii", b"(J": "ascii", b"$@": "jis", b"$B": "jis", b"(I": "kana"}


def _jis_to_sjis(j1, j2):
    """One JIS X 0208 row/cell pair as Shift_JIS bytes (rows 89–94 land on CP932's NEC-
    selected IBM extensions, row 13 on the NEC specials, as CP50220 reads them)."""
    s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
    if j1 & 1:
        s2 = j2 + (0x1F if j2 <= 0x5F else 0x20)
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))
