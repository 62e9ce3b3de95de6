"""Which peers speak the PROXY protocol (``[dns] proxy_protocol_from``: a dnsdist in front), and
what they sent. From those peers a PROXY v2 header is required, and the client it names is the
one the whole query path sees (profile, ``[[clients]]``, rate limit, query log, devices seen);
from any other peer a header is never read, so a device cannot claim another's address by
prepending one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kidshield.dns import proxyv2
from kidshield.dns.pipeline.admission import Networks

log = logging.getLogger("kidshield.dns")

LOG_EVERY = 60.0  # seconds between log lines about rejected headers (a flood is one line)


class ProxyGate:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.sources: Networks | None = None  # None: no peer speaks PROXY (the usual case)
        self.accepted = 0  # headers read, datagrams and connections
        self.rejected: dict[str, int] = {}  # dropped for want of a valid header, by reason
        self._monotonic = monotonic
        self._quiet_until = 0.0
        self._unlogged = 0

    def configure(self, networks: list[str]) -> None:
        self.sources = Networks(networks) if networks else None

    def unwrap(self, data: bytes, peer: str) -> tuple[bytes, str] | None:
        """A datagram from a PROXY peer: its DNS message and the client it was sent for, or
        None when it has no valid header (dropped: never answered as the balancer)."""
        found = self.header(data, peer, "datagram")
        if found is None:
            return None
        return data[found[1]:], found[0]

    def header(self, data: bytes | bytearray, peer: str, what: str,
               stream: bool = False) -> tuple[str, int] | None:
        """The client the PROXY v2 header at the start of ``data`` names (``peer`` itself
        for a LOCAL header) and the header's length; None when there is no valid one (counted
        and logged as a dropped ``what``). On a ``stream``, a header cut short raises
        proxyv2.Incomplete: the rest may be on its way."""
        try:
            client, size = proxyv2.parse(data)
        except proxyv2.ProxyHeaderError as exc:
            if stream and isinstance(exc, proxyv2.Incomplete):
                raise
            self.reject(exc, peer, what)
            return None
        self.accepted += 1
        return client or peer, size

    def reject(self, exc: proxyv2.ProxyHeaderError, peer: str, what: str) -> None:
        """Count a datagram or connection dropped for ``exc``; say so in the log, at most
        once a minute with how many were dropped since."""
        self.rejected[exc.reason] = self.rejected.get(exc.reason, 0) + 1
        now = self._monotonic()
        if now < self._quiet_until:
            self._unlogged += 1
            return
        more = f" (and {self._unlogged} more since the last report)" if self._unlogged else ""
        log.warning("dropped a %s from %s: %s; [dns] proxy_protocol_from requires a PROXY v2 "
                    "header from it%s", what, peer, exc, more)
        self._unlogged = 0
        self._quiet_until = now + LOG_EVERY
