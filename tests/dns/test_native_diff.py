"""The compiled miss path reads packets exactly as its Python source does (issue 17).

mypyc checks types at run time, raises some exceptions from other places and has native
integers; a corner where the compiled parser differs from the Python one is a corner that the
tests of the pure-Python install (``KIDSHIELD_MYPYC=0``) would never see. So the packet readers
are loaded a second time from their ``.py`` sources, side by side with the extension modules
the install built, and both are given the same random and mutated queries and upstream
answers: the same result, or an exception of the same type (with the same message, when it is
our ``WireError``), every time.
"""

from __future__ import annotations

import importlib.util
import struct
import sys
from collections.abc import Callable
from functools import partial
from importlib.machinery import EXTENSION_SUFFIXES, SourceFileLoader
from pathlib import Path
from types import ModuleType

import dns.edns
import dns.message
import dns.rcode
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kidshield.dns import answers, clienthints, strict, wire
from tests.dns.test_wire_strict import ECS_FAMILY_0, UPDATE_OPCODE
from tests.dns.test_wire_strict import answers as well_formed_answers

ROOT = Path(__file__).resolve().parent.parent.parent

# the compiled modules that read bytes from the network, in import order (each imports only
# the ones before it from this list)
READERS = ("kidshield.dns.wire", "kidshield.dns.strict", "kidshield.dns.clienthints",
           "kidshield.dns.answers")


def _compiled(module: ModuleType) -> bool:
    origin = module.__file__ or ""
    return any(origin.endswith(suffix) for suffix in EXTENSION_SUFFIXES)


COMPILED = all(_compiled(m) for m in (wire, strict, clienthints, answers))
pytestmark = pytest.mark.skipif(
    not COMPILED,
    reason="the DNS miss path is not compiled in this install (scripts/test builds it; "
           "or `KIDSHIELD_MYPYC=1 pip install --no-deps --no-build-isolation -e .`): "
           "there is no second implementation to compare")


def _load_pure() -> dict[str, ModuleType]:
    """The readers loaded again from their .py files, importing one another (not the
    compiled modules, which stay what the rest of the process imports)."""
    saved = {name: sys.modules[name] for name in READERS}
    pure: dict[str, ModuleType] = {}
    try:
        for name in READERS:
            path = ROOT / (name.replace(".", "/") + ".py")
            loader = SourceFileLoader(name, str(path))
            spec = importlib.util.spec_from_loader(name, loader)
            assert spec is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # what the next one's `from ... import` finds
            loader.exec_module(module)
            pure[name] = module
    finally:
        sys.modules.update(saved)
    return pure


_PURE = _load_pure() if COMPILED else {}


def _pure(module: ModuleType) -> ModuleType:
    return _PURE[module.__name__]


def _normal(value: object) -> object:
    """Values comparable across the two builds (their named tuples, dataclasses and
    exception classes are distinct classes)."""
    if type(value).__name__ == "ClientHints":
        return ("hints", value.mac, value.subnet)  # type: ignore[attr-defined]
    if isinstance(value, tuple):
        return tuple(_normal(v) for v in value)
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _outcome(call: Callable[[], object]) -> tuple[str, object]:
    try:
        return "returned", _normal(call())
    except Exception as exc:
        if type(exc).__name__ == "WireError":  # ours: the message is what the log says
            return "raised", ("WireError", str(exc))
        return "raised", type(exc).__name__


def _same(packet: bytes, compiled: partial[object], pure: partial[object]) -> tuple[str, object]:
    """Both calls' outcomes, which must be the same."""
    got, want = _outcome(compiled), _outcome(pure)
    name = getattr(compiled.func, "__name__", "?")
    assert got == want, f"{name} differs on {packet.hex()}: compiled {got}, Python {want}"
    return got


# -- queries -------------------------------------------------------------------------------
LABEL = st.one_of(st.from_regex(rb"[a-zA-Z0-9-]{1,20}", fullmatch=True),
                  st.binary(min_size=1, max_size=12))
OPTIONS = st.lists(st.one_of(
    st.builds(lambda raw: dns.edns.GenericOption(65001, raw),  # dnsmasq add-mac
              st.one_of(st.binary(min_size=6, max_size=6),
                        st.just(b"aa:bb:cc:dd:ee:ff"), st.just(b"qrvM3e7/"),
                        st.binary(max_size=20))),
    st.builds(lambda raw: dns.edns.GenericOption(8, raw), st.binary(max_size=20)),
    st.builds(dns.edns.ECSOption, st.sampled_from(["192.0.2.0", "198.51.100.7", "2001:db8::"]),
              st.integers(0, 32)),
    st.builds(lambda raw: dns.edns.GenericOption(10, raw), st.binary(min_size=8, max_size=8)),
), max_size=3)


@st.composite
def queries(draw: st.DrawFn) -> bytes:
    labels = draw(st.lists(LABEL, max_size=5))
    name = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    flags = draw(st.sampled_from([0x0100, 0x0000, 0x0110, 0x0120, 0x2100, 0x8100]))
    qtype = draw(st.sampled_from([1, 28, 65, 64, 5, 16, 255, 97, 41, 0xFFFF]))
    qclass = draw(st.sampled_from([1, 3, 255]))
    edns = draw(st.booleans())
    header = struct.pack("!6H", draw(st.integers(0, 0xFFFF)), flags, 1, 0, 0, int(edns))
    out = header + name + struct.pack("!HH", qtype, qclass)
    if edns:
        opt = dns.message.make_query("x.", "A", use_edns=draw(st.sampled_from([0, 1])),
                                     want_dnssec=draw(st.booleans()),
                                     payload=draw(st.integers(0, 0xFFFF)),
                                     options=draw(OPTIONS))
        out += opt.to_wire()[12 + 7:]  # its OPT record, after the question "x." A IN
    return out


def _mutate(draw: st.DrawFn, packet: bytes, first: int) -> bytes:
    data = bytearray(packet)
    kind = draw(st.sampled_from(["none", "cut", "flip", "add", "count", "splice"]))
    if kind == "cut":
        del data[draw(st.integers(0, len(data))):]
    elif kind == "flip" and len(data) > first:
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(first, len(data) - 1))] = draw(st.integers(0, 255))
    elif kind == "add":
        data += draw(st.binary(min_size=1, max_size=16))
    elif kind == "count" and len(data) >= 12:
        at = draw(st.sampled_from([4, 6, 8, 10]))
        data[at:at + 2] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big")
    elif kind == "splice" and data:
        at = draw(st.integers(0, len(data) - 1))
        data[at:at + draw(st.integers(0, 4))] = draw(st.binary(max_size=6))
    return bytes(data)


@st.composite
def mutated_queries(draw: st.DrawFn) -> bytes:
    return _mutate(draw, draw(queries()), 0)


EDE = (15, "blocked by the kid's profile")
QUERY_INPUTS = st.one_of(mutated_queries(), st.binary(max_size=80))


@settings(max_examples=500, deadline=None)
@given(packet=QUERY_INPUTS, flag=st.integers(0, 7))
@example(packet=b"", flag=0)
@example(packet=bytes.fromhex("1234010000010000000000010378797a0000010001"
                              "000029100000008000000afde9000600112233445566"), flag=3)
def test_a_query_is_read_alike_compiled_and_in_python(packet: bytes, flag: int) -> None:
    p_wire, p_hints, p_answers = _pure(wire), _pure(clienthints), _pure(answers)
    _same(packet, partial(answers.formerr, packet), partial(p_answers.formerr, packet))
    kind, _ = _same(packet, partial(wire.parse_question, packet),
                    partial(p_wire.parse_question, packet))
    if kind != "returned":
        return
    q, pq = wire.parse_question(packet), p_wire.parse_question(packet)
    _same(packet, partial(clienthints.client_hints, packet, q),
          partial(p_hints.client_hints, packet, pq))
    _same(packet, partial(wire.question_key, packet, q.end, flag),
          partial(p_wire.question_key, packet, pq.end, flag))
    rr = answers.rr_at_question(1, 300, b"\x7f\x00\x00\x01")
    for rcode in (dns.rcode.NOERROR, dns.rcode.SERVFAIL, dns.rcode.BADVERS):
        _, response = _same(packet, partial(answers.build, packet, q, rcode, [rr], ede=EDE),
                            partial(p_answers.build, packet, pq, rcode, [rr], ede=EDE))
        assert isinstance(response, bytes)
        _same(packet, partial(wire.truncate, response, q.end, answers.opt_for(q)),
              partial(p_wire.truncate, response, pq.end, p_answers.opt_for(pq)))
        _same(packet, partial(wire.patch, response, packet, q.end),
              partial(p_wire.patch, response, packet, pq.end))
        _, parts = _same(packet, partial(wire.split_answer, response, q.end),
                         partial(p_wire.split_answer, response, pq.end))
        assert isinstance(parts, tuple)
        head, tail = parts
        _same(packet, partial(wire.join_answer, packet, head, tail, q.end),
              partial(p_wire.join_answer, packet, head, tail, pq.end))
        _same(packet, partial(wire.pad, response), partial(p_wire.pad, response))


# -- upstream answers ----------------------------------------------------------------------
TTL = st.one_of(st.integers(0, 600), st.integers(0, 0xFFFFFFFF),
                st.sampled_from([0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]))


@st.composite
def upstream_answers(draw: st.DrawFn) -> bytes:
    """Well-formed answers with TTLs (and SOA MINIMUMs) anywhere in 32 bits, then mutated
    past the ID: cut short, bytes flipped or added, counts changed, bytes spliced."""
    data = bytearray(draw(well_formed_answers()))
    try:
        shape = strict.check_answer(bytes(data))
    except wire.WireError:  # pragma: no cover - the strategy builds well-formed answers
        raise AssertionError(data.hex()) from None
    for offset in shape.ttl_offsets:
        data[offset:offset + 4] = draw(TTL).to_bytes(4, "big")
    if draw(st.booleans()):  # SOA MINIMUMs and other record data too
        for offset in shape.ttl_offsets:
            rdlen = int.from_bytes(data[offset + 4:offset + 6], "big")
            if rdlen >= 4:
                end = offset + 6 + rdlen
                data[end - 4:end] = draw(TTL).to_bytes(4, "big")
    return _mutate(draw, bytes(data), 2)


ANSWER_INPUTS = st.one_of(upstream_answers(), st.binary(max_size=120))


@settings(max_examples=300, deadline=None)
@given(packet=ANSWER_INPUTS, age=st.integers(-(2**33), 2**33))
@example(packet=ECS_FAMILY_0, age=0)
@example(packet=UPDATE_OPCODE, age=0)
def test_an_upstream_answer_is_read_alike_compiled_and_in_python(packet: bytes, age: int
                                                                  ) -> None:
    p_wire, p_strict, p_answers = _pure(wire), _pure(strict), _pure(answers)
    _same(packet, partial(answers.rcode_of, packet), partial(p_answers.rcode_of, packet))
    _same(packet, partial(wire.skip_name, packet, 12), partial(p_wire.skip_name, packet, 12))
    _same(packet, partial(wire.min_ttl_offsets, packet),
          partial(p_wire.min_ttl_offsets, packet))
    _same(packet, partial(wire.pad, packet), partial(p_wire.pad, packet))
    kind, _ = _same(packet, partial(strict.check_answer, packet),
                    partial(p_strict.check_answer, packet))
    if kind != "returned":
        return
    shape = strict.check_answer(packet)  # (its alias targets: wire.name_at's, compared above)
    offsets, ttls = shape.ttl_offsets, shape.ttls
    _same(packet, partial(wire.ttls_at, packet, offsets), partial(p_wire.ttls_at, packet, offsets))
    _same(packet, partial(wire.set_ttls, packet, offsets, ttls, age),
          partial(p_wire.set_ttls, packet, offsets, ttls, age))
