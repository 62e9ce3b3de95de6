"""The Bearer scheme of RFC 6750, read and answered the same way by every listener that takes
tokens: the web server's API and the resolver's own ``/metrics`` listener (which may not import
the web stack, so this lives outside both)."""

from __future__ import annotations

REALM = "kidshield"


def bearer_credentials(header: str | None) -> str | None:
    """The credentials of an ``Authorization`` header of the Bearer scheme ("" when there are
    none), or None for no header or another scheme (Basic from a reverse proxy, say)."""
    scheme, _, rest = (header or "").strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else None


def bearer_challenge(error: str | None = None, description: str | None = None) -> str:
    """The ``WWW-Authenticate`` value of a 401 (RFC 6750 section 3): the realm alone when no
    token was sent (or another scheme was), with ``error`` when the token sent was refused or
    malformed."""
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}"'
    if description:
        # a quoted-string: no quotes or backslashes in our own words
        challenge += ', error_description="{}"'.format(description.replace('"', "'")
                                                      .replace("\\", "/"))
    return challenge
