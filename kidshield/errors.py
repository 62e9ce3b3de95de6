"""One exception base for everything kidshield raises on purpose.

Messages are written for the person who has to act on them (a parent, a school admin), and
say where the problem is (``file:line``) and what would be valid.
"""

from __future__ import annotations


class KidshieldError(Exception):
    """Base class: the CLI and the API turn these into clear messages, never tracebacks."""


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
