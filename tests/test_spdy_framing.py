"""SPDY/3.1 framing (sandbox.spdy) on bytes: what kubectl port-forward sends and expects back."""

from __future__ import annotations

import struct
import zlib

import pytest

from sandbox import spdy


def test_the_header_dictionary_is_the_spdy3_one():
    # 1423 bytes, as in the draft and in moby/spdystream's spdy/dictionary.go; its Adler-32 is
    # the dictionary id every SPDY/3 zlib stream names in its header.
    assert len(spdy.DICTIONARY) == 1423
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert b"\x00\x00\x00\x06200 OK\x00\x00\x00\x07version\x00\x00\x00\x08HTTP/1.1" in spdy.DICTIONARY
    assert spdy.DICTIONARY.endswith(b"charset=utf-8charset=iso-8859-1,utf-,*,enq=0.")


def test_a_ping_frame_is_twelve_bytes_and_echoes_its_id():
    frame = spdy.FrameWriter().ping(7)
    assert frame == bytes.fromhex("800300060000000400000007")
    (ping,) = spdy.FrameReader().feed(frame)
    assert (ping.type, ping.ping_id) == (spdy.PING, 7)


def test_data_frames_carry_the_stream_id_the_fin_flag_and_the_payload():
    frame = spdy.FrameWriter.data(3, b"GET / HTTP/1.1\r\n", fin=True)
    assert frame[:8] == struct.pack(">II", 3, (1 << 24) | 16)
    (data,) = spdy.FrameReader().feed(frame)
    assert (data.type, data.stream_id, data.data, data.fin) == (0, 3, b"GET / HTTP/1.1\r\n", True)


def test_rst_stream_and_goaway_frames_carry_their_status():
    writer = spdy.FrameWriter()
    assert writer.rst_stream(5, spdy.CANCEL) == bytes.fromhex("80030003000000080000000500000005")
    assert writer.goaway(1) == bytes.fromhex("80030007000000080000000100000000")
    reset, away = spdy.FrameReader().feed(writer.rst_stream(5, spdy.CANCEL) + writer.goaway(1))
    assert (reset.type, reset.stream_id, reset.status) == (spdy.RST_STREAM, 5, spdy.CANCEL)
    assert (away.type, away.stream_id, away.status) == (spdy.GOAWAY, 1, 0)


def test_a_syn_stream_header_block_is_zlib_with_the_dictionary_and_a_sync_flush():
    frame = spdy.FrameWriter().syn_stream(1, {"streamType": ["error"], "port": ["8081"], "requestID": ["0"]})
    assert frame[:4] == bytes.fromhex("80030001")
    assert struct.unpack(">I", frame[8:12])[0] == 1  # the stream id
    compressed = frame[18:]
    assert compressed[:2] == b"\x78\xf9"  # zlib, best compression, with a preset dictionary
    assert struct.unpack(">I", compressed[2:6])[0] == zlib.adler32(spdy.DICTIONARY)
    assert compressed.endswith(b"\x00\x00\xff\xff")  # the sync flush that ends every block
    block = zlib.decompressobj(zdict=spdy.DICTIONARY).decompress(compressed)
    assert block == spdy.encode_header_block({"streamtype": ["error"], "port": ["8081"], "requestid": ["0"]})


def test_header_blocks_share_one_compression_context_per_direction():
    writer, reader = spdy.FrameWriter(), spdy.FrameReader()
    headers = [
        {"streamtype": [kind], "port": ["8081"], "requestid": [str(n)]}
        for n in range(3)
        for kind in ("error", "data")
    ]
    frames = [writer.syn_stream(2 * i + 1, h) for i, h in enumerate(headers)]
    # Later blocks refer back to earlier ones, so they only decode in order, with one context.
    assert len(frames[-1]) < len(frames[0])
    decoded = reader.feed(b"".join(frames))
    assert [f.headers for f in decoded] == headers
    assert [f.stream_id for f in decoded] == [1, 3, 5, 7, 9, 11]


def test_a_syn_reply_decodes_to_its_stream_and_empty_headers():
    (reply,) = spdy.FrameReader().feed(spdy.FrameWriter().syn_reply(3))
    assert (reply.type, reply.stream_id, reply.headers, reply.fin) == (spdy.SYN_REPLY, 3, {}, False)


def test_frames_are_reassembled_however_the_bytes_were_cut():
    writer = spdy.FrameWriter()
    stream = writer.syn_stream(1, {"port": ["80"]}) + writer.data(1, b"x" * 1000) + writer.ping(1)
    reader, frames = spdy.FrameReader(), []
    for i in range(0, len(stream), 7):  # spdystream writes a frame's fields one by one
        frames += reader.feed(stream[i : i + 7])
    assert [f.type for f in frames] == [spdy.SYN_STREAM, 0, spdy.PING]
    assert frames[1].data == b"x" * 1000


def test_several_values_of_one_header_are_joined_by_nul():
    block = spdy.encode_header_block({"Accept": ["a", "b"]})
    assert block == struct.pack(">I", 1) + struct.pack(">I", 6) + b"accept" + struct.pack(">I", 3) + b"a\x00b"
    assert spdy.decode_header_block(block) == {"accept": ["a", "b"]}


def test_settings_and_window_update_frames_are_understood_and_unknown_types_skipped():
    settings = spdy.FrameWriter.control(spdy.SETTINGS, 0, struct.pack(">III", 1, (1 << 24) | 7, 65536))
    window = spdy.FrameWriter.control(spdy.WINDOW_UPDATE, 0, struct.pack(">II", 3, 1024))
    unknown = spdy.FrameWriter.control(10, 0, b"\x00" * 4)
    parsed = spdy.FrameReader().feed(settings + window + unknown)
    assert parsed[0].settings == [(1, 7, 65536)]
    assert (parsed[1].stream_id, parsed[1].delta) == (3, 1024)
    assert parsed[2].type == 10


@pytest.mark.parametrize(
    "bad",
    [
        bytes.fromhex("800200060000000400000001"),  # SPDY/2
        bytes.fromhex("800300030000000400000001"),  # RST_STREAM without its status
        bytes.fromhex("800300010000000e00000001000000000000") + b"junk",  # not zlib
    ],
)
def test_what_is_not_spdy3_is_an_error_not_a_crash(bad):
    with pytest.raises(spdy.SpdyError):
        spdy.FrameReader().feed(bad)


def test_a_header_block_that_inflates_past_the_limit_is_refused():
    huge = {"x": ["y" * (spdy.MAX_HEADER_BLOCK + 1)]}
    with pytest.raises(spdy.SpdyError):
        spdy.FrameReader().feed(spdy.FrameWriter().syn_stream(1, huge))
