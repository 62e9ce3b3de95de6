"""RFC 5452 (sections 4 and 9.1): a datagram that carries a question's ID but not its question,
or that comes from anywhere but the upstream's address and port, is ignored, and the wait
for the real answer goes on. Before, the first datagram with the right ID ended the wait and
the client got SERVFAIL: one forged packet with a guessed ID denied a lookup.

The upstream here is a socket on loopback that, for each query, first sends the forgery and
then, a little later, the real answer."""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import httpx
import pytest

from tests.dns.conftest import KID, ServeFactory, addresses

REAL = "192.0.2.1"
FORGED = "203.0.113.66"


def _answer(query: dns.message.Message, address: str, name: str | None = None,
            rdtype: str = "A") -> bytes:
    """A response to ``query`` (its ID) carrying ``address``; ``name``/``rdtype``: for another
    question than the one asked."""
    if name is not None or rdtype != "A":
        other = dns.message.make_query(name or query.question[0].name, rdtype, use_edns=False)
        other.id = query.id
        query = other
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    rdtype_ = "AAAA" if rdtype == "AAAA" else "A"
    value = "2001:db8::66" if rdtype_ == "AAAA" else address
    response.answer.append(dns.rrset.from_text_list(
        query.question[0].name, 300, "IN", rdtype_, [value]))
    return response.to_wire()


def _no_question(query: dns.message.Message) -> bytes:
    return struct.pack("!6H", query.id, 0x8400, 0, 0, 0, 0)


def _lower_case(query: dns.message.Message) -> bytes:
    """The real answer with the question's name in lower case (as some upstreams write it)."""
    wire = _answer(query, REAL)
    name_end = wire.index(b"\x00", 12) + 1
    return wire[:12] + wire[12:name_end].lower() + wire[name_end:]


def _other_opcode(query: dns.message.Message) -> bytes:
    """A response with the question's ID and question but another opcode (NOTIFY)."""
    wire = bytearray(_answer(query, FORGED))
    wire[2] = (wire[2] & 0x87) | (4 << 3)
    return bytes(wire)


# what is sent first, on the upstream's own socket (or, for "other port", on another one)
FORGERIES: dict[str, Callable[[dns.message.Message], bytes]] = {
    "other name": lambda q: _answer(q, FORGED, name="forged.example"),
    "other type": lambda q: _answer(q, FORGED, rdtype="AAAA"),
    "no question": _no_question,
    "not a response": lambda q: q.to_wire(),  # the query itself, reflected: QR clear
    "other opcode": _other_opcode,
    "other port": lambda q: _answer(q, FORGED),
}


class ForgingUpstream:
    """A UDP upstream on loopback that answers each query with ``first`` (the forgery) and,
    0.1 s later, ``then`` (the real answer, unless None). It stops with the test."""

    def __init__(self, first: Callable[[dns.message.Message], bytes],
                 then: Callable[[dns.message.Message], bytes] | None,
                 other_port: bool = False) -> None:
        self.first, self.then, self.other_port = first, then, other_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.forged = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as elsewhere:
            elsewhere.bind(("127.0.0.1", 0))
            while not self.stopping.is_set():
                try:
                    data, source = self.sock.recvfrom(65535)
                except TimeoutError:
                    continue
                query = dns.message.from_wire(data)
                (elsewhere if self.other_port else self.sock).sendto(self.first(query), source)
                self.forged += 1
                if self.then is not None and not self.stopping.wait(0.1):
                    self.sock.sendto(self.then(query), source)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def forging() -> Iterator[Callable[..., ForgingUpstream]]:
    made: list[ForgingUpstream] = []

    def factory(first: Callable[[dns.message.Message], bytes],
                then: Callable[[dns.message.Message], bytes] | None,
                other_port: bool = False) -> ForgingUpstream:
        made.append(ForgingUpstream(first, then, other_port))
        return made[-1]

    yield factory
    for upstream in made:
        upstream.stop()


def _upstreams(path: str, port: int, refusing: socket.socket) -> list[str]:
    """The callback path takes a miss when the first upstream is a healthy UDP one; the
    coroutine path (``UdpExchange.ask``) after a first upstream over TCP refused."""
    mine = f"udp://127.0.0.1:{port}"
    if path == "callback":
        return [mine]
    return [f"tcp://127.0.0.1:{refusing.getsockname()[1]}", mine]


@pytest.fixture
def refusing() -> Iterator[socket.socket]:
    """A TCP port bound but not listening: a connection to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


@pytest.mark.parametrize("path", ["callback", "coroutine"])
@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_answer_is_ignored_and_the_real_one_taken(
    serve: ServeFactory, forging: Callable[..., ForgingUpstream], refusing: socket.socket,
    caplog: pytest.LogCaptureFixture, forgery: str, path: str,
) -> None:
    upstream = forging(FORGERIES[forgery], lambda q: _answer(q, REAL),
                       other_port=forgery == "other port")
    served = serve(upstreams=_upstreams(path, upstream.port, refusing))
    with caplog.at_level(logging.DEBUG, logger="kidshield.dns"):
        for name in ("fine.example", "Mixed.Case.Example"):
            answer = served.query(name, source=KID, timeout=3)
            assert answer.rcode() == dns.rcode.NOERROR, (name, dns.rcode.to_text(answer.rcode()))
            assert addresses(answer) == [REAL], name
    assert upstream.forged == 2
    if forgery != "other port":  # that one the kernel drops: the socket is connected
        ignored = [r for r in caplog.records if "ignored" in r.getMessage()]
        assert len(ignored) == 2, [r.getMessage() for r in caplog.records]


def test_an_answer_with_the_name_in_another_case_is_taken(
    serve: ServeFactory, forging: Callable[..., ForgingUpstream],
) -> None:
    upstream = forging(_lower_case, None)
    served = serve(upstreams=[f"udp://127.0.0.1:{upstream.port}"])
    answer = served.query("Mixed.Case.Example", source=KID, timeout=3)
    assert answer.rcode() == dns.rcode.NOERROR
    assert addresses(answer) == [REAL]


def test_only_forgeries_time_the_question_out(
    serve: ServeFactory, forging: Callable[..., ForgingUpstream],
) -> None:
    """No real answer: the question times out (after the upstreams' 2 s) as if nothing
    came, and the forgery's address never reaches the client."""
    upstream = forging(FORGERIES["other name"], None)
    served = serve(upstreams=[f"udp://127.0.0.1:{upstream.port}"])
    answer = served.query("fine.example", source=KID, timeout=5)
    assert answer.rcode() == dns.rcode.SERVFAIL
    assert upstream.forged >= 1


def _forgery_by_name(query: dns.message.Message) -> bytes:
    """Each name gets its own kind of forgery (the label before ".example" says which)."""
    label = query.question[0].name.labels[0].decode()
    if label == "late":  # an ID no question out on the port has
        wire = bytearray(_answer(query, FORGED))
        wire[0] ^= 0x01
        return bytes(wire)
    if label == "short":
        return _answer(query, FORGED)[:5]
    if label == "reflected":
        return query.to_wire()
    return _answer(query, FORGED, name="forged.example")


def test_ignored_datagrams_are_counted_by_reason_in_metrics(
    serve: ServeFactory, forging: Callable[..., ForgingUpstream],
) -> None:
    upstream = forging(_forgery_by_name, lambda q: _answer(q, REAL))
    served = serve(upstreams=[f"udp://127.0.0.1:{upstream.port}"], web=True)
    for label in ("late", "short", "reflected", "other", "other2"):
        answer = served.query(f"{label}.example", source=KID, timeout=3)
        assert addresses(answer) == [REAL], label
    served.parent()
    with httpx.Client(base_url=served.url, timeout=3) as http:
        response = http.get("/metrics", headers=served.bearer_for("Alex", ["metrics"]))
    assert response.status_code == 200
    counted = {}
    for line in response.text.splitlines():
        if line.startswith("kidshield_dns_upstream_mismatched_total{"):
            labels, _, value = line.rpartition(" ")
            assert f'upstream="udp://127.0.0.1:{upstream.port}"' in labels, line
            counted[labels.split('reason="')[1].split('"')[0]] = float(value)
    assert counted == {"unknown_id": 1.0, "short": 1.0, "not_a_response": 1.0,
                       "wrong_question": 2.0}
