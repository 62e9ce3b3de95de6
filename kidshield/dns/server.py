"""Listeners: UDP, TCP (RFC 7766: pipelined, idle timeout) and DNS over TLS. Each hands bytes to
the resolver: the fast path first, the pipeline only when no ready answer exists."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import struct
from collections.abc import Coroutine
from functools import partial
from typing import Any, cast

from kidshield.dns import proxyv2
from kidshield.dns.ratelimit import Verdict
from kidshield.dns.resolver import Resolver
from kidshield.dns.wire import pad
from kidshield.errors import KidshieldError

log = logging.getLogger("kidshield.dns")

TCP_IDLE_TIMEOUT = 10.0
TCP_MAX_CONNECTIONS = 2048  # open TCP/DoT connections in all
TCP_MAX_PER_CLIENT = 64  # from one address
_tcp_open: dict[str, int] = {}  # client address -> open connections
_tcp_total = [0]
TCP_MAX_PIPELINE = 64


_tasks: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any]) -> None:
    """Run ``coro`` in the background, keeping a reference so it isn't collected mid-way."""
    task = asyncio.ensure_future(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


class BindError(KidshieldError):
    pass


def explain_bind_error(exc: OSError, host: str, port: int, proto: str,
                       setting: str = "[dns] listen") -> BindError:
    where = f"{proto} {host}:{port}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return BindError(
            f"cannot listen on {where}: ports below 1024 need privileges. Run kidshield as "
            "root, give it CAP_NET_BIND_SERVICE (the systemd unit in contrib/ does), or use "
            f"a port above 1024 in {setting}."
        )
    if exc.errno == errno.EADDRINUSE:
        return BindError(
            f"cannot listen on {where}: another program already uses it (often "
            f"systemd-resolved or dnsmasq; 'ss -lnp sport = :{port}' shows which). Stop it "
            f"or choose another address in {setting}."
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return BindError(f"cannot listen on {where}: this machine has no such address")
    return BindError(f"cannot listen on {where}: {exc.strerror or exc}")


def bind_tcp(host: str, port: int, setting: str) -> socket.socket:
    """A TCP socket bound to ``host:port`` for an HTTP server to listen on; a taken or
    privileged port is a BindError naming ``setting``, and port 0 gets a free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise explain_bind_error(exc, host, port, "TCP", setting) from None
    return sock


class UdpListener(asyncio.DatagramProtocol):
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.transport: asyncio.DatagramTransport | None = None
        self._fast = resolver.answer_fast
        self._start = resolver.start
        self._proxy = resolver.proxy  # kept across reloads: its sources follow the config
        self._send: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop's is no subclass
        self._send = self.transport.sendto

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        client = addr[0]
        sources = self._proxy.sources
        if sources is not None and client in sources:
            # a load balancer's datagram: the query is for the client its header names, and
            # the answer goes back to the balancer, without a header (as dnsdist expects)
            unwrapped = self._proxy.unwrap(data, client)
            if unwrapped is None:
                return
            data, client = unwrapped
        try:
            fast = self._fast(data, client, True)
        except Exception:  # a hostile packet must never stop the listener
            fast = None
        if fast is not None:
            if fast:  # b"": dropped by the rate limiter
                self._send(fast, addr)
            return
        # the common miss is answered from the upstream socket's reader (no task); anything
        # that needs to wait in between comes back as a coroutine
        try:
            later = self._start(data, client, partial(self._reply, addr))
        except Exception:
            log.exception("error answering a UDP query from %s", client)
            return
        if later is not None:
            spawn(self._slow(later, client, addr))

    async def _slow(self, later: Coroutine[Any, Any, bytes | None], client: str,
                    addr: tuple[Any, ...]) -> None:
        try:
            answer = await later
        except Exception:
            log.exception("error answering a UDP query from %s", client)
            return
        self._reply(addr, answer)

    def _reply(self, addr: tuple[Any, ...], answer: bytes | None) -> None:
        # the listener may have been closed (shutdown) while this query was being resolved
        if answer is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(answer, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


class TcpListener(asyncio.Protocol):
    """One connection: length-prefixed queries, answered as they complete (possibly out of
    order, as RFC 7766 allows), closed after an idle period."""

    def __init__(self, resolver: Resolver, client_id: str | None = None) -> None:
        self.resolver = resolver
        self.client_id = client_id
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.client = ""
        self.inflight = 0
        self.idle: asyncio.TimerHandle | None = None
        # the client is not reading its answers: stop reading its queries until it does, so
        # a client that never reads cannot make us buffer answers without limit
        self.writing_paused = False
        self.counted = False  # this connection is in the open-connection total
        self.counted_as: str | None = None  # and in this address's count
        self.proxied = False  # from a PROXY peer: a header comes first (dns/proxied.py)
        self.tls = False
        self.held: asyncio.TimerHandle | None = None  # over the rate limit: reading resumes

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.client = peer[0] if peer else ""
        # bounded: one device (or a flood of them) cannot use up the server's connections
        if _tcp_total[0] >= TCP_MAX_CONNECTIONS:
            self.transport.abort()
            return
        sources = self.resolver.proxy.sources
        # a load balancer's connections count for the clients they carry, once the header
        # has said which (dnsdist opens one per client connection)
        self.proxied = sources is not None and self.client in sources
        if not self.proxied and not self._count_as(self.client):
            self.transport.abort()
            return
        _tcp_total[0] += 1
        self.counted = True
        if self.client_id is None:
            ssl_obj = transport.get_extra_info("ssl_object")
            if ssl_obj is not None:
                self.tls = True
                self.client_id = _client_id_from_sni(getattr(ssl_obj, _SNI_ATTR, None))
        self._arm()

    def _count_as(self, client: str) -> bool:
        open_here = _tcp_open.get(client, 0)
        if open_here >= TCP_MAX_PER_CLIENT:
            return False
        _tcp_open[client] = open_here + 1
        self.counted_as = client
        return True

    def _unwrap(self) -> bool:
        """Read the PROXY v2 header a load balancer's connection starts with: the client it
        names asks the queries that follow. False: not yet complete, or the connection was
        dropped for want of a valid one."""
        try:
            found = self.resolver.proxy.header(self.buffer, self.client, "TCP connection",
                                               stream=True)
        except proxyv2.Incomplete:
            return False  # the rest of the header is on its way (or the idle timeout)
        self.proxied = False  # counted once: not again as cut short when it closes
        if found is None:
            self.buffer.clear()
            if self.transport is not None:
                self.transport.abort()
            return False
        self.client, size = found
        del self.buffer[:size]
        if not self._count_as(self.client) and self.transport is not None:
            self.transport.abort()
            return False
        return True

    def _arm(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        loop = asyncio.get_running_loop()
        self.idle = loop.call_later(TCP_IDLE_TIMEOUT, self._timeout)

    def _timeout(self) -> None:
        if self.inflight == 0 and self.transport is not None:
            self.transport.close()
        else:
            self._arm()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._arm()
        if self.proxied and not self._unwrap():
            return
        while len(self.buffer) >= 2 and not self.writing_paused and self.held is None:
            size = struct.unpack_from("!H", self.buffer)[0]
            if len(self.buffer) < 2 + size:
                break
            if self.tls and self._over_rate():
                break
            query = bytes(self.buffer[2 : 2 + size])
            del self.buffer[: 2 + size]
            fast = None if self.client_id else self.resolver.answer_fast(query, self.client, False)
            if fast is not None:
                self._send(fast)
            elif self.inflight < TCP_MAX_PIPELINE:
                self.inflight += 1
                spawn(self._slow(query))
            else:
                if self.transport is not None:
                    self.transport.pause_reading()
                self.buffer[:0] = struct.pack("!H", size) + query
                break

    def _over_rate(self) -> bool:
        """DNS over TLS has the plain-DNS answers-per-second limit: a device over it waits
        (its next query is read when it has a token again); a stream cannot be spoofed, so
        nothing is dropped."""
        resolver = self.resolver
        if not resolver.stream_limiter.qps:
            return False
        wait = resolver.stream_limiter.wait(self.client, resolver.monotonic())
        if not wait:
            return False
        resolver.rate_limited[Verdict.WAIT] = resolver.rate_limited.get(Verdict.WAIT, 0) + 1
        if self.transport is not None:
            self.transport.pause_reading()
        self.held = asyncio.get_running_loop().call_later(wait, self._release)
        return True

    def _release(self) -> None:
        self.held = None
        if self.transport is None or self.transport.is_closing():
            return
        if not self.writing_paused and self.inflight < TCP_MAX_PIPELINE:
            self.transport.resume_reading()
        self.data_received(b"")

    async def _slow(self, query: bytes) -> None:
        try:
            answer = await self.resolver.resolve(query, self.client, False, self.client_id)
        except Exception:
            log.exception("error answering a TCP query from %s", self.client)
            answer = None
        finally:
            self.inflight -= 1
        if answer is not None:
            self._send(answer)
        if (self.transport is not None and not self.transport.is_closing()
                and not self.writing_paused and self.held is None):
            self.transport.resume_reading()
            if self.buffer:
                self.data_received(b"")

    def pause_writing(self) -> None:
        self.writing_paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.transport is not None and not self.transport.is_closing() and self.held is None:
            if self.inflight < TCP_MAX_PIPELINE:
                self.transport.resume_reading()
            if self.buffer:
                self.data_received(b"")

    def _send(self, answer: bytes) -> None:
        if self.tls:
            answer = pad(answer)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(struct.pack("!H", len(answer)) + answer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle is not None:
            self.idle.cancel()
        if self.held is not None:
            self.held.cancel()
            self.held = None
        self.transport = None
        if self.proxied and self.buffer:  # closed part-way through its header
            self.resolver.proxy.reject(proxyv2.Incomplete(
                f"the connection closed after {len(self.buffer)} bytes of a PROXY v2 header"),
                self.client, "TCP connection")
        self.proxied = False
        if self.counted:
            self.counted = False
            _tcp_total[0] -= 1
        if self.counted_as is not None:
            left = _tcp_open.get(self.counted_as, 1) - 1
            if left > 0:
                _tcp_open[self.counted_as] = left
            else:
                _tcp_open.pop(self.counted_as, None)
            self.counted_as = None


_SNI_ATTR = "kidshield_server_name"


def remember_sni(ssl_obj: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
    """TLS SNI callback: keep the name the client asked for on its SSL object. (A server-side
    SSL object's ``server_hostname`` is always None, so this is the only way to learn it.)"""
    setattr(ssl_obj, _SNI_ATTR, server_name)


def _client_id_from_sni(server_name: str | None) -> str | None:
    """DoT: 'mia-tablet.dns.example.org' names the client 'mia-tablet'."""
    if not server_name or "." not in server_name:
        return None
    first = server_name.split(".", 1)[0].lower()
    return first or None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


async def start_udp(resolver: Resolver, host: str, port: int) -> asyncio.DatagramTransport:
    loop = asyncio.get_running_loop()
    sock = socket.socket(_family(host), socket.SOCK_DGRAM)
    try:
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if _family(host) == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise explain_bind_error(exc, host, port, "UDP") from None
    transport, _ = await loop.create_datagram_endpoint(lambda: UdpListener(resolver), sock=sock)
    return transport


async def start_tcp(
    resolver: Resolver, host: str, port: int, tls: ssl.SSLContext | None = None
) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    try:
        return await loop.create_server(
            lambda: TcpListener(resolver), host, port, ssl=tls, reuse_address=True,
            reuse_port=hasattr(socket, "SO_REUSEPORT"), backlog=256,
        )
    except OSError as exc:
        raise explain_bind_error(exc, host, port, "DoT" if tls else "TCP") from None
