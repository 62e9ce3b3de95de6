"""DNS over HTTPS (RFC 8484): GET ?dns=<base64url> and POST application/dns-message.

``/dns-query/<client-id>`` selects the profile of that client id."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from kidshield.dns.resolver import Resolver
from kidshield.dns.wire import pad
from kidshield.web.access import Permission
from kidshield.web.routing import page

MEDIA_TYPE = "application/dns-message"


def doh_routes(resolver_of: object, admit: Callable[[str], float] = lambda _c: 0.0,
               ) -> list[BaseRoute]:
    """``admit(client)``: seconds the client must wait (the server's rate limit), 0 to go."""

    async def handle(request: Request) -> Response:
        resolver = resolver_of() if callable(resolver_of) else None
        if not isinstance(resolver, Resolver):
            return Response("DNS service not running", status_code=503)
        wait = admit(request.client.host if request.client else "")
        if wait:
            return Response("too many queries: slow down", status_code=429,
                            headers={"Retry-After": str(int(wait) + 1)})
        if request.method == "GET":
            encoded = request.query_params.get("dns")
            if not encoded:
                return Response("missing 'dns' query parameter", status_code=400)
            encoded = encoded.rstrip("=")  # RFC 8484 leaves the padding out; some clients don't
            try:
                # validate: without it, letters outside base64url were dropped without a word
                # ('!!!!' was "empty or oversized DNS message"; the family walk, session 16)
                query = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_",
                                         validate=True)
            except (binascii.Error, ValueError):
                return Response("'dns' is not base64url", status_code=400)
        else:
            if request.headers.get("content-type", "").split(";")[0].strip() != MEDIA_TYPE:
                return Response(f"Content-Type must be {MEDIA_TYPE}", status_code=415)
            query = await request.body()
        if not query or len(query) > 65535:
            return Response("empty or oversized DNS message", status_code=400)
        client = request.client.host if request.client else ""
        client_id = request.path_params.get("client_id")
        answer = None
        if client_id is None:
            answer = resolver.answer_fast(query, client, False)
        if answer is None:
            answer = await resolver.resolve(query, client, False, client_id)
        if answer is None:  # shorter than a DNS header, or a response rather than a query
            return Response("not a DNS query", status_code=400)
        ttl = _min_ttl(answer)
        # padded as DNS over TLS pads (RFC 8467 blocks, answers with EDNS): HTTPS hides the
        # name but not the size, and the size of an unpadded answer often names the site
        return Response(pad(answer), media_type=MEDIA_TYPE,
                        headers={"Cache-Control": f"max-age={ttl}"})

    # anyone who may use the resolver (the DNS server's own access rules apply); the body is
    # a DNS message, which no form of another site can send
    options: dict[str, Any] = {
        "methods": ("GET", "POST"), "bodies": (MEDIA_TYPE,), "max_body": 65535,
        "wrong_body": f"Content-Type must be {MEDIA_TYPE}", "cache": "no-store"}
    return [
        page("/dns-query", handle, Permission.PUBLIC, **options),
        page("/dns-query/{client_id}", handle, Permission.PUBLIC, **options),
    ]


def _min_ttl(answer: bytes) -> int:
    from kidshield.dns.wire import WireError, min_ttl_offsets

    try:
        return min_ttl_offsets(answer)[1]
    except (WireError, IndexError, ValueError):
        return 0
