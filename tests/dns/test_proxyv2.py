"""The PROXY v2 header parser: what dnsdist sends is read exactly, anything else is refused
with a reason, never an exception of another kind, whatever the bytes."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kidshield.dns import proxyv2
from tests.dns.proxyheaders import SIGNATURE, STREAM, header, local, tlv

QUERY = bytes.fromhex("123401000001000000000000076578616d706c6503636f6d0000010001")


def test_an_ipv4_header_names_the_client_and_where_the_query_starts() -> None:
    data = header("192.0.2.7") + QUERY
    client, size = proxyv2.parse(data)
    assert client == "192.0.2.7"
    assert data[size:] == QUERY


def test_an_ipv6_header_names_the_client_in_the_form_sockets_give() -> None:
    client, size = proxyv2.parse(header("2001:db8:0:0::42", protocol=STREAM) + QUERY)
    assert (client, size) == ("2001:db8::42", 16 + 36)


def test_an_ipv4_mapped_client_is_its_ipv4_address() -> None:
    assert proxyv2.parse(header("::ffff:192.0.2.9"))[0] == "192.0.2.9"


def test_tlvs_are_skipped() -> None:
    tlvs = tlv(0xE0, b"school=north") + tlv(0x05, b"\x00" * 16) + tlv(0x01, b"")
    data = header("192.0.2.7", tlvs=tlvs) + QUERY
    client, size = proxyv2.parse(data)
    assert client == "192.0.2.7" and data[size:] == QUERY


@pytest.mark.parametrize("data", [local(), local()[:13] + b"\x11\x00\x0c" + b"\x00" * 12,
                                  SIGNATURE + b"\x21\x00\x00\x00"])
def test_local_and_unspec_headers_name_no_client(data: bytes) -> None:
    # LOCAL: the balancer speaks for itself (dnsdist's health checks); UNSPEC: the same
    assert proxyv2.parse(data + QUERY) == (None, len(data))


@pytest.mark.parametrize(("data", "reason"), [
    (QUERY, "missing"),
    (b"PROXY TCP4 192.0.2.7 10.0.0.1 40000 53\r\n" + QUERY, "missing"),  # v1 is not read
    (SIGNATURE[:8], "truncated"),
    (header("192.0.2.7")[:20], "truncated"),
    (SIGNATURE + b"\x11\x12\x00\x0c" + b"\x00" * 12, "version"),
    (SIGNATURE + b"\x22\x12\x00\x0c" + b"\x00" * 12, "command"),
    (SIGNATURE + b"\x21\x32\x00\xd8" + b"\x00" * 216, "family"),  # AF_UNIX
    (SIGNATURE + b"\x21\x72\x00\x0c" + b"\x00" * 12, "family"),
    (SIGNATURE + b"\x21\x12\x00\x04" + b"\x00" * 4 + QUERY, "length"),  # too short for IPv4
    (SIGNATURE + b"\x21\x22\x00\x0c" + b"\x00" * 12 + QUERY, "length"),  # too short for IPv6
    (header("192.0.2.7", tlvs=b"\x01\x00\x09") + QUERY, "length"),  # TLV runs past end
    (header("192.0.2.7", tlvs=b"\x01\x00") + QUERY, "length"),  # ends inside a TLV
    (SIGNATURE + b"\x21\x12" + struct.pack("!H", 4000) + b"\x00" * 4000, "length"),
])
def test_a_header_that_is_absent_or_malformed_is_refused_with_its_reason(
    data: bytes, reason: str,
) -> None:
    with pytest.raises(proxyv2.ProxyHeaderError) as raised:
        proxyv2.parse(data)
    assert raised.value.reason == reason
    assert reason in proxyv2.REASONS


def test_a_stream_waits_for_the_rest_of_a_header_it_has_the_start_of() -> None:
    full = header("192.0.2.7", protocol=STREAM)
    for cut in range(len(full)):
        with pytest.raises(proxyv2.Incomplete):
            proxyv2.parse(full[:cut])
    assert proxyv2.parse(bytearray(full))[0] == "192.0.2.7"


@given(st.binary(max_size=300))
def test_any_bytes_give_a_client_or_a_header_error(data: bytes) -> None:
    for candidate in (data, SIGNATURE + data, SIGNATURE + b"\x21" + data):
        try:
            client, size = proxyv2.parse(candidate)
        except proxyv2.ProxyHeaderError as exc:
            assert exc.reason in proxyv2.REASONS
        else:
            assert proxyv2.FIXED <= size <= min(len(candidate), proxyv2.MAX_HEADER)
            assert client is None or isinstance(client, str)
