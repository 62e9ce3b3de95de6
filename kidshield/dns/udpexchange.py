"""Questions to one UDP upstream, with the protection RFC 5452 asks for and few sockets.

Each question gets a random 16-bit ID and leaves from a port the kernel picks at random for a
socket connected to the upstream, so only the upstream's address and port can answer, and an
off-path spoofer must guess the port and the ID. A datagram is taken as a question's answer
only when it is a response to it (QR set, the query's opcode) that repeats the question
(name, type and class; RFC 5452 9.1): one that does not is ignored and the wait goes on, so a
forgery with a guessed ID cannot end a lookup. This is the one place a UDP answer is matched
to its question; the caller reads the rest strictly (``upstream.Upstream.read``).

Opening a socket per question (and registering it with the event loop) cost about a third of
a cache miss, so questions asked while others are still out share the newest socket, under
these bounds:

* a socket carries at most ``SHARE_MAX`` questions, and none joins it once it is
  ``SHARE_SECONDS`` old;
* it is closed as soon as no question is out on it: a port never waits open, idle, to be
  found, and questions asked one after another each get a fresh port (as before);
* two questions out on one socket never share an ID.

A blind spoofer's chance per forged packet is (questions out) / (ports × 65,536) either way:
k questions on one port offer k IDs on one port instead of one ID on each of k ports. What
sharing changes is how long a port lives, bounded as above, which matters to attacks that
find an open port first (SAD DNS's ICMP side channel needs far longer than a second per
port range).

``send`` hands the answer to a callback from the socket's reader (the cache miss's own path
completes the client's answer there, with no task, future or coroutine); ``ask`` wraps it for
coroutines. A port times its questions out with one timer at the earliest deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable

from kidshield.dns.wire import HEADER, WireError, skip_name

log = logging.getLogger("kidshield.dns")

SHARE_MAX = 16
SHARE_SECONDS = 1.0

_ids = bytearray()  # random bytes from the OS, two per query ID


def query_id() -> bytes:
    """A random 16-bit query ID from the OS's CSPRNG, drawn 4 KiB at a time: one system call
    per 2,048 questions instead of one each."""
    if not _ids:
        _ids.extend(secrets.token_bytes(4096))
    qid = bytes(_ids[-2:])
    del _ids[-2:]
    return qid


# a forked process (serve --workers) must not hand out the same IDs as its parent
os.register_at_fork(after_in_child=_ids.clear)


class ExchangeError(Exception):
    """No answer: the socket failed, the upstream refused (ICMP), or the time ran out."""


# why a datagram from the upstream was ignored (metrics: kidshield_dns_upstream_mismatched):
# no question out on its port has its ID (late, or forged with a guessed ID), shorter than a
# header, not a response (QR clear, or another opcode), or another question than the ID's
MISMATCHES = ("unknown_id", "short", "not_a_response", "wrong_question")

# event loops may run a timer a clock tick early (uvloop counts milliseconds): a question
# this close to its deadline has timed out
_EARLY = 0.005
# told the upstream's answer (with the question's own ID), or why there is none
Callback = Callable[[bytes | None, ExchangeError | None], None]
# a question out on a port: who is told, by when, the question's own ID, its question section
# as sent (name, type, class), and the answer's third header byte masked to QR and opcode
_Out = tuple[Callback, float, bytes, bytes, int]


class _Port:
    """One connected socket and the questions out on it, by ID. One timer per port, at the
    earliest deadline of its questions, times them out (not a timer per question)."""

    __slots__ = ("closed", "ignored", "left", "loop", "opened", "pending", "sock", "timer",
                 "timer_at")

    def __init__(self, loop: asyncio.AbstractEventLoop, address: str, port: int,
                 ignored: dict[str, int]) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)
        try:
            self.sock.connect((address, port))
            loop.add_reader(self.sock.fileno(), self._readable)
        except BaseException:
            self.sock.close()
            raise
        self.loop = loop
        self.ignored = ignored  # the exchange's counts, by reason
        self.opened = loop.time()
        self.left = SHARE_MAX
        self.pending: dict[bytes, _Out] = {}
        self.closed = False
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0

    def joinable(self, loop: asyncio.AbstractEventLoop) -> bool:
        return (not self.closed and self.left > 0 and self.loop is loop
                and loop.time() - self.opened < SHARE_SECONDS)

    def _readable(self) -> None:
        pending = self.pending
        while True:
            try:
                data = self.sock.recv(65535)
            except BlockingIOError:
                break
            except OSError as exc:  # e.g. ICMP port unreachable: nothing listens there
                self._fail(ExchangeError(str(exc)))
                return
            qid = data[:2]
            out = pending.get(qid) if len(data) >= HEADER else None
            if out is not None:
                why = _mismatch(data, out[3], out[4])
                if not why:
                    del pending[qid]
                    _tell(out[0], out[2] + data[2:], None)
                    continue
            else:
                why = "unknown_id" if len(data) >= HEADER else "short"
            # late or forged: the wait goes on
            self.ignored[why] = self.ignored.get(why, 0) + 1
            if log.isEnabledFor(logging.DEBUG):  # a flood of them costs no more than this
                log.debug("ignored a datagram from %s that answers no question out on its "
                          "port (%s)", self.sock.getpeername()[0], why)
        if not pending:  # nothing out on it: no port waits open
            self.close()

    def _expire(self) -> None:
        self.timer = None
        now = self.loop.time() + _EARLY
        pending = self.pending
        for qid in [qid for qid, out in pending.items() if out[1] <= now]:
            _tell(pending.pop(qid)[0], None, ExchangeError("timed out"))
        if pending:
            self._arm(min(out[1] for out in pending.values()))
        else:
            self.close()

    def _arm(self, deadline: float) -> None:
        if self.timer is not None:
            if self.timer_at <= deadline:
                return
            self.timer.cancel()
        self.timer = self.loop.call_at(deadline, self._expire)
        self.timer_at = deadline

    def withdraw(self, qid: bytes, callback: Callback) -> None:
        """The asker no longer waits (cancelled): its question ends, the port with its last."""
        out = self.pending.get(qid)
        if out is not None and out[0] is callback:  # the ID may be another question's by now
            del self.pending[qid]
            if not self.pending:
                self.close()

    def _fail(self, exc: ExchangeError) -> None:
        self.close(exc)

    def close(self, why: ExchangeError | None = None) -> None:
        """Close the socket; a question still out on it (the exchange is closed) is told
        ``why``, so no asker waits for an answer that cannot come."""
        if self.closed:
            return
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.loop.is_closed():
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        if self.pending:
            outs = list(self.pending.values())
            self.pending.clear()
            for out in outs:
                _tell(out[0], None, why or ExchangeError("the exchange was closed"))


def _mismatch(data: bytes, question: bytes, flags: int) -> str:
    """Why the datagram (with a question's ID) is not that question's answer, or "" when it
    is: a response with the query's opcode (``flags``), whose question section is
    ``question`` alone. The name may differ in case: some upstreams do not keep it."""
    end = HEADER + len(question)
    if data[2] & 0xF8 != flags:
        return "not_a_response"
    if data[4:6] != b"\x00\x01":
        return "wrong_question"
    if data[HEADER:end] == question:  # the usual answer: one slice comparison
        return ""
    name_end = end - 4
    if (len(data) >= end and data[HEADER:name_end].lower() == question[:-4].lower()
            and data[name_end:end] == question[-4:]):
        return ""
    return "wrong_question"


def _tell(callback: Callback, answer: bytes | None, error: ExchangeError | None) -> None:
    try:
        callback(answer, error)
    except Exception:  # one asker's failure must not stop the port's others
        log.exception("error handling an upstream answer")


class UdpExchange:
    """Questions to one upstream address over UDP (see the module's docstring)."""

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port
        self._newest: _Port | None = None
        self.ignored: dict[str, int] = {}  # datagrams ignored, by reason (MISMATCHES)

    def send(self, packet: bytes, timeout: float, callback: Callback,
             question_end: int = 0) -> tuple[_Port, bytes]:
        """Send ``packet`` with a fresh random ID; ``callback`` is called from the event loop
        with the upstream's answer (its ID set back to ``packet``'s) or an ExchangeError, once.
        Only a response from the upstream's address and port with the question's ID, opcode
        and question is taken (others are ignored): the caller reads the rest strictly.
        ``question_end``: where ``packet``'s question ends, when the caller knows (else the
        name is walked). ExchangeError at once when it cannot be sent. Returns where it is
        out, for ``_Port.withdraw``."""
        if question_end <= HEADER:
            try:
                question_end = skip_name(packet, HEADER) + 4
            except WireError as bad:  # (not ``exc``: compiled, a name keeps its first type)
                raise ExchangeError(f"not a question: {bad}") from None
        question = packet[HEADER:question_end]
        loop = asyncio.get_running_loop()
        port = self._newest
        if port is None or not port.joinable(loop):
            try:
                port = self._newest = _Port(loop, self.address, self.port, self.ignored)
            except OSError as exc:
                raise ExchangeError(str(exc)) from exc
        port.left -= 1
        pending = port.pending
        qid = query_id()
        while qid in pending:
            qid = query_id()
        try:
            port.sock.send(qid + packet[2:])
        except OSError as exc:
            if not pending:
                port.close()
            raise ExchangeError(str(exc)) from exc
        deadline = loop.time() + timeout
        pending[qid] = (callback, deadline, packet[:2], question, 0x80 | (packet[2] & 0x78))
        port._arm(deadline)
        return port, qid

    async def ask(self, packet: bytes, timeout: float, question_end: int = 0) -> bytes:
        """The upstream's answer to ``packet`` (whose ID is kept in the answer), or
        ExchangeError: ``send`` for a coroutine."""
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        def told(answer: bytes | None, error: ExchangeError | None) -> None:
            if fut.done():
                return
            if answer is not None:
                fut.set_result(answer)
            else:
                fut.set_exception(error or ExchangeError("no answer"))

        port, qid = self.send(packet, timeout, told, question_end)
        try:
            return await fut
        finally:
            if not fut.done() or fut.cancelled():  # cancelled: the question ends here
                port.withdraw(qid, told)

    def close(self) -> None:
        if self._newest is not None:
            self._newest.close()
            self._newest = None
