"""The question's name as the resolver reads it: one decode for the whole name when it is
letters, digits and hyphens, the careful reading per label otherwise. Property: both give
the name each label's reading gives, for any bytes a label may hold (RFC 2181 11), and
names too long are refused as before."""

from __future__ import annotations

import struct

import dns.message
import dns.name
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kidshield.dns.wire import WireError, _label_text, parse_question

PLAIN = st.binary(min_size=1, max_size=63).map(
    lambda b: bytes(b"abcXYZ019-_*"[x % 12] for x in b))
LABELS = st.lists(st.one_of(PLAIN, st.binary(min_size=1, max_size=63)), max_size=8)


def query(labels: list[bytes]) -> bytes:
    name = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    return struct.pack("!6H", 7, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)


@settings(max_examples=400, deadline=None)
@given(labels=LABELS)
@example(labels=[b"a.b", b"example"])  # a dot inside a label is not a label's end
@example(labels=[b"WWW", b"Example", b"ORG"])
@example(labels=[b"x" * 63] * 3 + [b"y" * 61])  # 255 bytes on the wire: the longest
@example(labels=[b"x" * 63] * 3 + [b"y" * 62])  # 256: too long
def test_the_name_is_each_labels_reading_joined(labels: list[bytes]) -> None:
    wire = query(labels)
    if sum(len(label) + 1 for label in labels) + 1 > 255:
        with pytest.raises(WireError, match="longer than 255"):
            parse_question(wire)
        return
    q = parse_question(wire)
    assert q.name == ".".join(_label_text(label) for label in labels)
    assert q.end == len(wire)
    if all(label.isascii() and label.replace(b"-", b"").isalnum() for label in labels):
        text = dns.name.from_wire(wire, 12)[0].to_text(omit_final_dot=True).lower()
        assert q.name == ("" if text == "." else text)  # the root: ""


def test_a_name_cut_short_is_refused() -> None:
    wire = dns.message.make_query("cut.example", "A").to_wire()
    with pytest.raises(WireError, match="past the end"):
        parse_question(wire[:20])
