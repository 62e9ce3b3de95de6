"""The web server's connections: a cap on how many are open (in all, and per device address)
and a deadline for a request's headers, on top of uvicorn's HTTP/1.1 protocol.

uvicorn closes an idle kept-alive connection (``timeout_keep_alive``) but waits forever for
the headers of a request, so a thousand connections that send a byte now and then hold the
server. Here a connection must deliver each request's headers within ``header_timeout``
seconds of opening (or of its previous answer), and one that would go past
``max_connections`` (or ``max_per_client`` from one address) is turned away at once with a
503. The request body's own deadline is in ``web/routing.py`` (``body_timeout``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.utils import get_remote_addr

_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n"
         b"content-length: 26\r\nconnection: close\r\nretry-after: 5\r\n\r\n"
         b"too many connections: wait")
_SLOW = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
         b"content-length: 33\r\nconnection: close\r\n\r\n"
         b"the request headers came too late")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with connection caps and a header deadline. The limits
    are class attributes: ``protocol_class(...)`` makes a subclass with a server's own."""

    header_timeout: float = 10.0
    max_connections: int = 512
    max_per_client: int = 64

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._turned_away = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = get_remote_addr(transport)
        host = peer[0] if peer else ""
        from_here = sum(1 for c in self.connections
                        if isinstance(c, H11Protocol) and c.client and c.client[0] == host)
        if len(self.connections) >= self.max_connections or from_here >= self.max_per_client:
            self._turned_away = True
            self.transport = transport
            transport.write(_BUSY)
            transport.close()
            return
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._turned_away:
            return
        before = self.cycle
        between = before is None or before.response_complete
        if between and self._header_deadline is None:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.cycle is not before:  # its headers are in
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._turned_away:
            return
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(_SLOW)
            self.transport.close()


def protocol_class(header_timeout: float, max_connections: int,
                   max_per_client: int) -> type[GuardedH11Protocol]:
    return type("ServerProtocol", (GuardedH11Protocol,), {
        "header_timeout": header_timeout, "max_connections": max_connections,
        "max_per_client": max_per_client})
