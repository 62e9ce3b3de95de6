"""``/metrics`` on a listener of its own (``[metrics] listen``), so a resolver running with
``--no-web`` is monitored too. Scrapers send a bearer token: the one in ``[metrics]
token_file``, or else an API token with the metrics scope (checked by the caller's
``api_check``) unless ``[metrics] auth = false``; the counts are per profile.

A deliberately small HTTP/1.1 responder: one request per connection, GET or HEAD, headers
capped, a timeout; Prometheus needs nothing more, and the resolver process stays free of the
web stack.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kidshield.bearer import bearer_challenge, bearer_credentials
from kidshield.config import Config
from kidshield.dns.server import explain_bind_error
from kidshield.errors import ConfigError

log = logging.getLogger("kidshield.metrics")

MAX_HEAD = 16 * 1024
READ_TIMEOUT = 10.0


def metrics_token(config: Config) -> str | None:
    """The token scrapers must send, from ``[metrics] token_file`` (None: no token)."""
    name = config.metrics.token_file
    if not name:
        return None
    path = config.path(name)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError([f"{config.source}: metrics.token_file: cannot read {path}: "
                           f"{exc.strerror or exc}"]) from None
    if len(token) < 16:
        raise ConfigError([f"{config.source}: metrics.token_file: {path} holds a token of "
                           f"{len(token)} characters; use at least 16 (e.g. 'openssl rand "
                           "-hex 32')"])
    return token


BearerCheck = Callable[[str], bool]


def health_body(bound: list[tuple[str, str, int]]) -> dict[str, object]:
    """The ``/healthz`` answer of a listener that names the service's sockets (the web
    listener's and this one's): public, no counts."""
    return {"status": "ok", "listening": [list(b) for b in bound]}


def metrics_gate(config: Config, api_check: BearerCheck | None) -> BearerCheck | None:
    """Who may read the listener's metrics: None lets anyone who reaches it."""
    token = metrics_token(config)
    if token is not None:
        return lambda given: hmac.compare_digest(given.encode(), token.encode())
    if not config.metrics.auth:
        return None
    # no token file and no way to check API tokens (--no-web without a database): nobody
    return api_check or (lambda _given: False)


class MetricsListener:
    def __init__(self, registry: Callable[[], Any], settle: Callable[[], Awaitable[None]],
                 check: BearerCheck | None,
                 listening: Callable[[], list[tuple[str, str, int]]] | None = None) -> None:
        """``registry()``: what to show (anything with ``collect()``, read per scrape);
        ``listening()``: the sockets ``/healthz`` names."""
        self.registry = registry
        self.settle = settle
        self.check = check
        self.listening = listening
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        try:
            self.server = await asyncio.start_server(self._handle, host, port,
                                                     reuse_address=True)
        except OSError as exc:
            raise explain_bind_error(exc, host, port, "metrics") from None
        return int(self.server.sockets[0].getsockname()[1])

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            status, headers, body = await self._respond(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError):
            status, headers, body = "400 Bad Request", {}, b"bad request\n"
        try:
            writer.write(_response(status, headers, body))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _respond(self, head: bytes) -> tuple[str, dict[str, str], bytes]:
        if len(head) > MAX_HEAD:
            return "431 Request Header Fields Too Large", {}, b"headers too large\n"
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        path = rest.partition(" ")[0].split("?", 1)[0]
        fields = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                fields[name.strip().lower()] = value.strip()
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", {"Allow": "GET, HEAD"}, b"method not allowed\n"
        if path == "/healthz" and self.listening is not None:
            # as on the web listener (public, no counts): a resolver run with --no-web has
            # no other health check for its load balancer or monitoring
            body = json.dumps(health_body(self.listening())).encode()
            return "200 OK", {"Content-Type": "application/json"}, b"" if method == "HEAD" else body
        if path != "/metrics":
            return "404 Not Found", {}, b"metrics are at /metrics (health at /healthz)\n"
        if self.check is not None:
            given = bearer_credentials(fields.get("authorization"))
            if not given:
                return ("401 Unauthorized", {"WWW-Authenticate": bearer_challenge()},
                        b"a bearer token is needed: [metrics] token_file, or an API token "
                        b"with the metrics scope\n")
            if not await asyncio.to_thread(self.check, given):
                # RFC 6750 section 3.1: a token was sent and refused
                return ("401 Unauthorized",
                        {"WWW-Authenticate": bearer_challenge("invalid_token")},
                        b"the bearer token is not valid: it is wrong, revoked or expired, or "
                        b"not the one of [metrics] token_file\n")
        await self.settle()
        body = generate_latest(self.registry())
        return "200 OK", {"Content-Type": CONTENT_TYPE_LATEST}, b"" if method == "HEAD" else body


def _response(status: str, headers: dict[str, str], body: bytes) -> bytes:
    fields = {"Content-Type": "text/plain; charset=utf-8", **headers,
              "Content-Length": str(len(body)), "Connection": "close",
              "Cache-Control": "no-store"}
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return head.encode("latin-1") + b"\r\n" + body
