"""Questions to one UDP upstream, with the protection RFC 5452 asks for and few sockets.

Each question gets a random 16-bit ID and leaves from a port the kernel picks at random for a
socket connected to the upstream, so only the upstream's address can answer, and an off-path
spoofer must guess the port and the ID. Opening a socket per question (and registering it
with the event loop) cost about a third of a cache miss, so questions asked while others are
still out share the newest socket, under these bounds:

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
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket

from kidshield.dns.wire import HEADER

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


class _Port:
    """One connected socket and the questions out on it, by ID."""

    __slots__ = ("closed", "left", "loop", "opened", "pending", "sock")

    def __init__(self, loop: asyncio.AbstractEventLoop, address: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)
        try:
            self.sock.connect((address, port))
            loop.add_reader(self.sock.fileno(), self._readable)
        except BaseException:
            self.sock.close()
            raise
        self.loop = loop
        self.opened = loop.time()
        self.left = SHARE_MAX
        self.pending: dict[bytes, asyncio.Future[bytes]] = {}
        self.closed = False

    def joinable(self, loop: asyncio.AbstractEventLoop) -> bool:
        return (not self.closed and self.left > 0 and self.loop is loop
                and loop.time() - self.opened < SHARE_SECONDS)

    def _readable(self) -> None:
        while True:
            try:
                data = self.sock.recv(65535)
            except BlockingIOError:
                return
            except OSError as exc:  # e.g. ICMP port unreachable: nothing listens there
                self._fail(ExchangeError(str(exc)))
                return
            fut = self.pending.pop(data[:2], None) if len(data) >= HEADER else None
            if fut is not None and not fut.done():  # else: late or forged, ignored
                fut.set_result(data)

    def _fail(self, exc: Exception) -> None:
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(exc)
        self.pending.clear()
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.loop.is_closed():
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class UdpExchange:
    """Questions to one upstream address over UDP (see the module's docstring)."""

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port
        self._newest: _Port | None = None

    async def ask(self, packet: bytes, timeout: float) -> bytes:
        """The upstream's answer to ``packet`` (whose ID is kept in the answer), or
        ExchangeError. Only a datagram from the upstream's address with the question's ID is
        taken: the caller checks that it answers the question."""
        loop = asyncio.get_running_loop()
        port = self._newest
        if port is None or not port.joinable(loop):
            try:
                port = self._newest = _Port(loop, self.address, self.port)
            except OSError as exc:
                raise ExchangeError(str(exc)) from exc
        port.left -= 1
        qid = query_id()
        while qid in port.pending:
            qid = query_id()
        fut: asyncio.Future[bytes] = loop.create_future()
        port.pending[qid] = fut
        try:
            port.sock.send(qid + packet[2:])
            timer = loop.call_later(timeout, _expire, fut)
            try:
                answer = await fut
            finally:
                timer.cancel()
        except OSError as exc:
            raise ExchangeError(str(exc)) from exc
        finally:
            # the reader took it out when the answer came, and a question that joined since
            # may hold the same ID now: take out only our own
            if port.pending.get(qid) is fut:
                del port.pending[qid]
            if not port.pending:  # nothing out on it: no port waits open
                port.close()
                if self._newest is port:
                    self._newest = None
        return packet[:2] + answer[2:]

    def close(self) -> None:
        if self._newest is not None:
            self._newest.close()
            self._newest = None


def _expire(fut: asyncio.Future[bytes]) -> None:
    if not fut.done():
        fut.set_exception(ExchangeError("timed out"))
