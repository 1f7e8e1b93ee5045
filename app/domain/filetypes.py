"""What a file is, from its bytes (never from its name): the evidence types we keep.

Kept: JPEG, PNG, HEIC/HEIF (phone photos), PDF, and text (logs, CSV) that decodes whole as
UTF-8 or Shift_JIS (cp932). Refused: executables and scripts, ZIP and every other archive,
and anything unknown. Text is decoded incrementally as it streams, so a file is never held
whole in memory.
"""

import codecs

from app.errors import UnsupportedMediaType

HEAD = 64  # bytes of the start kept to recognise the signature
MAGIC = [  # (prefix, content type, extension)
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
]
HEIF_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"heim": "image/heic",
               b"heis": "image/heic", b"hevc": "image/heic", b"hevx": "image/heic",
               b"mif1": "image/heif", b"msf1": "image/heif"}
EXECUTABLE = (b"MZ", b"\x7fELF", b"#!", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",
              b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\x00asm")
ARCHIVE = (b"PK\x03\x04", b"PK\x05\x06", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b", b"BZh",
           b"\xfd7zXZ")
# Control characters that real logs contain: tab, newlines, form feed, escape (colours).
TEXT_CONTROLS = set("\t\n\r\x0b\x0c\x1b")
TEXT_ENCODINGS = (("utf-8-sig", "utf-8"), ("cp932", "shift_jis"))


def _refuse(reason, message):
    return UnsupportedMediaType(message, {"field": "file", "reason": reason})


def _text_ok(text):
    return not any(ch < " " and ch not in TEXT_CONTROLS for ch in text) and "\x7f" not in text


class TypeSniffer:
    """Fed chunk by chunk; result() names the type or refuses the file."""

    def __init__(self):
        self.head = b""
        self.decoders = {charset: codecs.getincrementaldecoder(codec)()
                         for codec, charset in TEXT_ENCODINGS}

    def feed(self, chunk):
        """Look at the next chunk (only the first HEAD bytes are kept)."""
        if len(self.head) < HEAD:
            self.head += chunk[:HEAD - len(self.head)]
        self._decode(chunk, final=False)

    def _decode(self, chunk, final):
        for charset, decoder in list(self.decoders.items()):
            try:
                if not _text_ok(decoder.decode(chunk, final=final)):
                    del self.decoders[charset]
            except UnicodeDecodeError:
                del self.decoders[charset]

    def result(self):
        """(content type, file extension) of everything fed, or UnsupportedMediaType."""
        head = self.head
        if head.startswith(EXECUTABLE):
            raise _refuse("executable", "Programs and scripts are not accepted as evidence.")
        if head.startswith(ARCHIVE):
            raise _refuse("archive", "Archives are not accepted; upload each file itself "
                                     "(logs as text).")
        for prefix, content_type, extension in MAGIC:
            if head.startswith(prefix):
                return content_type, extension
        if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
            return HEIF_BRANDS[head[8:12]], ".heic"
        self._decode(b"", final=True)
        for charset in self.decoders:
            return f"text/plain; charset={charset}", ".txt"
        raise _refuse("unknown_type", "This kind of file is not accepted: send a photo "
                                      "(JPEG, PNG, HEIC), a PDF or a text file.")
