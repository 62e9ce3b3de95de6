"""One exception base for everything kidshield raises on purpose.

Messages are written for the person who has to act on them (a parent, a school admin), and
say where the problem is (``file:line``) and what would be valid. ``field`` names the input a
message is about, when there is one (the API reports it).

The kinds below say what went wrong in words any caller understands; the web app turns each
kind into one HTTP status (``kidshield/web/errors.py``), the command line into a message.
"""

from __future__ import annotations


class KidshieldError(Exception):
    """Base class: the CLI and the API turn these into clear messages, never tracebacks."""

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConfigError(KidshieldError):
    """The configuration file is invalid. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class ListFormatError(KidshieldError):
    """A block/allow list could not be used as a whole."""


class ListSourceError(KidshieldError):
    """A list source could not be fetched or was rejected; the last good copy stays in use."""


class StorageError(KidshieldError):
    """The database is unusable (corrupt, locked, wrong version)."""


class InputError(KidshieldError):
    """Bad input given on the command line or through the API."""


class Malformed(KidshieldError):
    """Input that cannot be read at all: not JSON, a broken form."""


class TooLarge(InputError):
    """The input is larger than allowed (a body, an upload)."""


class RequestTimeout(InputError):
    """The client stopped sending what it began (a request body)."""


class UnsupportedMedia(InputError):
    """The input is of a kind that is not accepted (an image where a web address belongs)."""


class NotFound(KidshieldError):
    """The thing asked for does not exist (or no longer exists)."""


class Conflict(KidshieldError):
    """The request is valid, but the state of the thing does not allow it now (a closed case,
    a name already in use)."""


class Refused(KidshieldError):
    """Not allowed (a wrong PIN, a used setup link, a missing role)."""


class Unauthorized(Refused):
    """Who is asking could not be established (a wrong name or password)."""


class TooManyRequests(Refused):
    """Too many attempts in a short time; ``retry_after`` seconds until the next one may."""

    def __init__(self, message: str = "", *, retry_after: float | None = None,
                 field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after
