"""Syslog framing: where one message ends and the next begins (pure: bytes in, messages out).

On TCP (and TLS) each frame is told apart as rsyslog's imtcp does: a frame that starts with
a digit is octet-counted (RFC 6587 3.4.1, "123 <34>1 ..."), any other is one line ended by
LF (non-transparent framing, RFC 6587 3.4.2). So senders of either kind, and a stream that
mixes them, are read the same way. On UDP every datagram is one message (RFC 5426).

The decoder is incremental: `feed` takes whatever a read returned and gives the messages
completed by it, keeping a frame split across reads until its end arrives. A frame larger
than the limit is refused, counted in `refused`, and skipped without losing the frames after
it: an octet-counted frame by its count, an LF frame up to its LF.
"""

import re
from dataclasses import dataclass, field

DEFAULT_MAX_FRAME = 64 * 1024
MAX_COUNT_DIGITS = 10  # a longer digit run is no octet count: the frame is read as a line
_TRAILING = b"\r\n\x00"
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
_BETWEEN_FRAMES = b"\r\n\x00 \t"  # stray separators some senders put after a counted frame
_SEPARATOR_BYTES = frozenset(_BETWEEN_FRAMES)


@dataclass
class Refusal:
    """A frame refused by the decoder: its size as far as known and why."""

    size: int
    reason: str


def strip_message(data):
    """A message without the trailing LF, CR and NUL that senders append."""
    return data.rstrip(_TRAILING)


def datagram_message(data):
    """UDP: the whole datagram is one message (None when it holds nothing)."""
    message = strip_message(data)
    return message or None


def decode_message(data):
    """A message's text: UTF-8 (a leading BOM dropped, RFC 5424 6.4), else CP932 (Japanese
    appliances that send Shift_JIS), else UTF-8 with U+FFFD for the bytes it cannot read."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _PRIVATE_USE.search(text):  # cp932 maps stray bytes there
        return text
    return data.decode("utf-8", errors="replace")


@dataclass
class StreamDecoder:
    """One TCP connection's frames, octet-counted or LF-terminated, detected per frame."""

    max_frame: int = DEFAULT_MAX_FRAME
    refused: list = field(default_factory=list)
    _buffer: bytearray = field(default_factory=bytearray)
    _skip: int = 0  # bytes still to discard of a refused octet-counted frame
    _skip_line: bool = False  # discarding a refused LF frame up to its LF

    def feed(self, data):
        """The messages completed by `data` (bytes, trailing LF/CR/NUL stripped)."""
        self._buffer += data
        messages, pos = [], 0
        while pos < len(self._buffer):  # positions, not deletions: one compaction a read
            pos, done = self._discard(pos)
            if not done:
                break
            pos, message = self._next_frame(pos)
            if message is None:
                break
            if message:
                messages.append(message)
        del self._buffer[:pos]
        return messages

    def close(self):
        """At the end of the stream: the last LF frame, which needs no LF (rsyslog takes it
        too); an unfinished octet-counted frame is refused."""
        rest, self._buffer = bytes(self._buffer), bytearray()
        if self._skip or self._skip_line or not rest.strip(_BETWEEN_FRAMES):
            return []
        if _octet_count(rest.lstrip(_BETWEEN_FRAMES), 0) is not None:
            self.refused.append(Refusal(len(rest), "connection closed inside a counted frame"))
            return []
        message = strip_message(rest)
        return [message] if message else []

    def _discard(self, pos):
        """(position, done): past what remains of a refused frame; not done while more of
        it is awaited."""
        if self._skip:
            taken = min(self._skip, len(self._buffer) - pos)
            self._skip -= taken
            return pos + taken, not self._skip
        if self._skip_line:
            end = self._buffer.find(b"\n", pos)
            if end < 0:
                return len(self._buffer), False
            self._skip_line = False
            return end + 1, True
        return pos, True

    def _next_frame(self, pos):
        """(position after it, the next whole frame's message): b"" for an empty or refused
        frame, None if the buffer holds only part of a frame."""
        buffer = self._buffer
        while pos < len(buffer) and buffer[pos] in _SEPARATOR_BYTES:
            pos += 1
        if pos == len(buffer):
            return pos, None
        count = _octet_count(buffer, pos)
        if count is None:
            return self._line_frame(pos)
        digits, length = count
        if length is None:
            return pos, None  # the count itself is still arriving
        return self._counted_frame(pos, digits, length)

    def _counted_frame(self, pos, digits, length):
        """An octet-counted frame's message, once all of it has arrived."""
        start = pos + digits + 1
        if length > self.max_frame:
            self._skip = length
            self.refused.append(Refusal(length, f"frame of {length} bytes is over the "
                                                f"limit of {self.max_frame}"))
            pos, done = self._discard(start)
            return pos, b"" if done else None
        if len(self._buffer) < start + length:
            return pos, None
        return start + length, strip_message(bytes(self._buffer[start:start + length]))

    def _line_frame(self, pos):
        """An LF-terminated frame's message, once its LF has arrived."""
        end = self._buffer.find(b"\n", pos)
        if end < 0:
            if len(self._buffer) - pos > self.max_frame:
                self.refused.append(Refusal(len(self._buffer) - pos, "line longer than the "
                                            f"limit of {self.max_frame} bytes"))
                self._skip_line = True
                return len(self._buffer), None
            return pos, None
        if end - pos > self.max_frame:
            self.refused.append(Refusal(end - pos, f"line longer than the limit of "
                                                   f"{self.max_frame} bytes"))
            return end + 1, b""
        return end + 1, strip_message(bytes(self._buffer[pos:end]))


def _octet_count(data, pos):
    """(digits, length) when data starts an octet-counted frame at pos; length is None while
    the count is unfinished; None for a frame that is a line."""
    end, size = pos, len(data)
    while end < size and end - pos <= MAX_COUNT_DIGITS and 48 <= data[end] <= 57:
        end += 1
    digits = end - pos
    if digits == 0 or digits > MAX_COUNT_DIGITS:
        return None
    if end == size:
        return (digits, None)
    if data[end] != 32 or data[pos] == 48:
        return None  # "2026-12-06T..." (an ISO prefix) or "0 ...": a line
    return (digits, int(data[pos:end]))
