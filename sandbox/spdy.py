"""SPDY/3.1 framing, as much of it as ``kubectl port-forward`` speaks: pure bytes in, bytes out.

kubectl (client-go's ``portforward`` package over moby/spdystream) opens two SPDY streams per
forwarded connection and sends DATA, PING and GOAWAY frames; the server answers SYN_REPLY, DATA,
RST_STREAM and PING. No library on PyPI keeps SPDY/3.1 up to date, so this is the wire format of
the SPDY/3 draft (chromium.org/spdy/spdy-protocol/spdy-protocol-draft3-1):

    control frame:  |1| version (15) | type (16) |  flags (8) | length (24) |  payload
    data frame:     |0| stream id (31)           |  flags (8) | length (24) |  payload

Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are ``count, (len, name, len, value)*`` with 32-bit
big-endian lengths, lower-case names and several values joined by NUL, compressed with zlib
primed with the SPDY/3 dictionary; each direction keeps one compression context for the whole
connection and ends every block with a sync flush. SETTINGS, WINDOW_UPDATE and HEADERS are
parsed and may be ignored (spdystream keeps no flow-control windows).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
# RST_STREAM status codes.
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, CANCEL, INTERNAL_ERROR = 1, 2, 3, 5, 6
MAX_DATA = (1 << 24) - 1
MAX_HEADER_BLOCK = 64 * 1024  # decompressed; a port-forward stream has three short headers

_WORDS = (
    "options,head,post,put,delete,trace,accept,accept-charset,accept-encoding,accept-language,"
    "accept-ranges,age,allow,authorization,cache-control,connection,content-base,content-encoding,"
    "content-language,content-length,content-location,content-md5,content-range,content-type,date,"
    "etag,expect,expires,from,host,if-match,if-modified-since,if-none-match,if-range,"
    "if-unmodified-since,last-modified,location,max-forwards,pragma,proxy-authenticate,"
    "proxy-authorization,range,referer,retry-after,server,te,trailer,transfer-encoding,upgrade,"
    "user-agent,vary,via,warning,www-authenticate,method,get,status,200 OK,version,HTTP/1.1,url,"
    "public,set-cookie,keep-alive,origin"
)
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "
    "Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service "
    "UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, "
    "Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,"
    "application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdch"
    "charset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
# The SPDY/3 header dictionary: length-prefixed words, then a run of common values.
DICTIONARY = (
    b"".join(struct.pack(">I", len(word)) + word for word in (text.encode() for text in _WORDS.split(",")))
    + _TAIL.encode()
)


class SpdyError(Exception):
    """The peer sent something that is not SPDY/3 as framed here; the session should end."""


Headers = dict[str, list[str]]


@dataclass
class Frame:
    type: int  # one of the control types, or 0 for DATA
    flags: int = 0
    stream_id: int = 0
    data: bytes = b""  # DATA payload
    headers: Headers = field(default_factory=dict)
    status: int = 0  # RST_STREAM, GOAWAY
    ping_id: int = 0
    associated_id: int = 0
    priority: int = 0
    settings: list[tuple[int, int, int]] = field(default_factory=list)  # (flags, id, value)
    delta: int = 0  # WINDOW_UPDATE

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


def encode_header_block(headers: Headers) -> bytes:
    parts = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        raw_name, raw_value = name.lower().encode(), "\x00".join(values).encode()
        parts += [struct.pack(">I", len(raw_name)), raw_name, struct.pack(">I", len(raw_value)), raw_value]
    return b"".join(parts)


def decode_header_block(block: bytes) -> Headers:
    try:
        (count,) = struct.unpack_from(">I", block)
        offset, headers = 4, {}
        for _ in range(count):
            texts = []
            for _part in ("name", "value"):
                (length,) = struct.unpack_from(">I", block, offset)
                texts.append(block[offset + 4 : offset + 4 + length])
                if len(texts[-1]) != length:
                    raise SpdyError("header block is truncated")
                offset += 4 + length
            headers.setdefault(texts[0].decode().lower(), []).extend(texts[1].decode().split("\x00"))
    except (struct.error, UnicodeDecodeError) as exc:
        raise SpdyError(f"malformed header block: {exc}") from None
    if offset != len(block):
        raise SpdyError("header block has trailing bytes")
    return headers


class FrameWriter:
    """Encodes frames; one per connection and direction (it owns the compression context)."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, 15, zdict=DICTIONARY)

    def _headers(self, headers: Headers) -> bytes:
        return self._deflate.compress(encode_header_block(headers)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def control(kind: int, flags: int, payload: bytes) -> bytes:
        if len(payload) > MAX_DATA:
            raise SpdyError("control frame too large")
        return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload

    def syn_stream(
        self, stream_id: int, headers: Headers, *, fin: bool = False, associated: int = 0
    ) -> bytes:
        payload = struct.pack(">IIBB", stream_id, associated, 0, 0) + self._headers(headers)
        return self.control(SYN_STREAM, FLAG_FIN if fin else 0, payload)

    def syn_reply(self, stream_id: int, headers: Headers | None = None, *, fin: bool = False) -> bytes:
        payload = struct.pack(">I", stream_id) + self._headers(headers or {})
        return self.control(SYN_REPLY, FLAG_FIN if fin else 0, payload)

    @staticmethod
    def data(stream_id: int, payload: bytes = b"", *, fin: bool = False) -> bytes:
        if not 0 < stream_id < 1 << 31 or len(payload) > MAX_DATA:
            raise SpdyError("bad data frame")
        return struct.pack(">II", stream_id, ((FLAG_FIN if fin else 0) << 24) | len(payload)) + payload

    def rst_stream(self, stream_id: int, status: int) -> bytes:
        return self.control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def ping(self, ping_id: int) -> bytes:
        return self.control(PING, 0, struct.pack(">I", ping_id))

    def goaway(self, last_good_stream_id: int, status: int = 0) -> bytes:
        return self.control(GOAWAY, 0, struct.pack(">II", last_good_stream_id, status))


class FrameReader:
    """Decodes the bytes of one direction into frames, however they were cut into messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= 8:
            first, flags_length = struct.unpack_from(">II", self._buffer)
            length = flags_length & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            payload = bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            flags = flags_length >> 24
            if first & 0x80000000:
                if (first >> 16) & 0x7FFF != VERSION:
                    raise SpdyError(f"unsupported SPDY version {(first >> 16) & 0x7FFF}")
                frames.append(self._control(first & 0xFFFF, flags, payload))
            else:
                frames.append(Frame(0, flags, stream_id=first & 0x7FFFFFFF, data=payload))
        return frames

    def _header_block(self, compressed: bytes) -> Headers:
        try:
            block = self._inflate.decompress(compressed, MAX_HEADER_BLOCK)
        except zlib.error as exc:
            raise SpdyError(f"header block does not decompress: {exc}") from None
        if self._inflate.unconsumed_tail:
            raise SpdyError("header block too large")
        return decode_header_block(block)

    def _control(self, kind: int, flags: int, payload: bytes) -> Frame:
        try:
            if kind == SYN_STREAM:
                stream_id, associated, priority, _slot = struct.unpack_from(">IIBB", payload)
                return Frame(
                    kind,
                    flags,
                    stream_id=stream_id & 0x7FFFFFFF,
                    associated_id=associated & 0x7FFFFFFF,
                    priority=priority >> 5,
                    headers=self._header_block(payload[10:]),
                )
            if kind in (SYN_REPLY, HEADERS):
                (stream_id,) = struct.unpack_from(">I", payload)
                return Frame(kind, flags, stream_id & 0x7FFFFFFF, headers=self._header_block(payload[4:]))
            if kind == RST_STREAM:
                stream_id, status = struct.unpack(">II", payload)
                return Frame(kind, flags, stream_id & 0x7FFFFFFF, status=status)
            if kind == PING:
                return Frame(kind, flags, ping_id=struct.unpack(">I", payload)[0])
            if kind == GOAWAY:
                last, status = struct.unpack(">II", payload)
                return Frame(kind, flags, last & 0x7FFFFFFF, status=status)
            if kind == WINDOW_UPDATE:
                stream_id, delta = struct.unpack(">II", payload)
                return Frame(kind, flags, stream_id & 0x7FFFFFFF, delta=delta & 0x7FFFFFFF)
            if kind == SETTINGS:
                (count,) = struct.unpack_from(">I", payload)
                values = struct.unpack_from(">" + "II" * count, payload, 4)
                pairs = zip(values[::2], values[1::2], strict=True)
                return Frame(kind, flags, settings=[(i >> 24, i & 0xFFFFFF, v) for i, v in pairs])
        except struct.error as exc:
            raise SpdyError(f"malformed control frame of type {kind}: {exc}") from None
        return Frame(kind, flags)  # unknown types are ignored, as the draft says
