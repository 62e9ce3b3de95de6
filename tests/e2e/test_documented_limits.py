"""Limits docs/web.md promises, checked at their exact edge on the app as ``kidshield serve``
composes it: a body of the documented size is read, one byte more is refused with 413 before
the route sees it (session 16's walk of the docs' promised limits; docs/testing.md)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.e2e.harness import Served

KIB = 1024


def _json_of_size(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    body = b'{"name": "parent", "password": ""}'
    return body[:-2] + b"x" * (size - len(body)) + body[-2:]


def _form_of_size(size: int) -> bytes:
    body = b"url=a.test&reason="
    return body + b"x" * (size - len(body))


# (what docs/web.md "Limits on requests and connections" says, method and path, body, type)
EDGES = [
    ("sign-in 16 KiB", "/api/v1/login", 16 * KIB, _json_of_size, "application/json"),
    ("a report 64 KiB", "/api/v1/reports", 64 * KIB, _json_of_size, "application/json"),
    ("child page forms 8 KiB", "/me/ask", 8 * KIB, _form_of_size,
     "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize(("promise", "path", "limit", "make", "kind"), EDGES,
                         ids=[e[0] for e in EDGES])
def test_a_body_at_the_documented_limit_is_read_and_one_byte_more_is_refused(
        served: Served, promise: str, path: str, limit: int, make: Callable[[int], bytes],
        kind: str) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        at = client.post(path, content=make(limit), headers={"content-type": kind},
                         follow_redirects=False)
        over = client.post(path, content=make(limit + 1), headers={"content-type": kind},
                           follow_redirects=False)
    assert at.status_code != 413, (promise, at.status_code, at.text[:200])
    assert over.status_code == 413, (promise, over.status_code, over.text[:200])
