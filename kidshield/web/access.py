"""Who may do what, for every web route: one permission model for the dashboard, the child
page, reports, cases, media, message checks, lessons and metrics.

Every route declares the one ``Permission`` it needs (``web/routing.py``); accounts hold
permissions through their roles, and an API token holds the permissions of its account's
roles that its scopes name. Nothing is allowed that is not declared: a route without a
declaration is not served, and a permission no role holds is held by no one.

The authentication middleware sets ``request.state.user`` to a ``User`` (or None for an
anonymous visitor); routes never look at cookies or tokens themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection


class Permission(StrEnum):
    PUBLIC = "public"  # anyone, without an account: block page, child page, report form
    ACCOUNT = "account"  # any account or token: who am I
    OWN_PASSWORD = "own-password"  # change your own password: a signed-in browser only
    TOKENS = "tokens"  # issue and revoke your own API tokens
    ACCOUNTS = "accounts"  # add accounts and give them roles
    SERVER = "server"  # the server's whole configuration file (export)
    HOUSEHOLD_READ = "household:read"  # profiles, devices, lists, query log, requests, audit
    HOUSEHOLD_CONTROL = "household:control"  # pause, allow for now, answer requests
    HOUSEHOLD_EDIT = "household:edit"  # profiles, devices, lists, settings, PIN
    LEARNING = "learning"  # the children's lesson progress
    METRICS = "metrics"  # Prometheus metrics (per-profile counts)
    CASES_READ = "cases:read"  # the report queue, cases, transparency figures
    CASES_WORK = "cases:work"  # assign, move, note, decide, reveal evidence
    CASES_ESCALATE = "cases:escalate"  # escalation packages, legal hold
    MEDIA_MATCH = "media:match"  # look up hashes, match images, list banks
    MEDIA_MANAGE = "media:manage"  # create, enable and fill hash banks, export them
    ASSESS = "assess"  # the message safety engine (files high risks as cases)


P = Permission

# Roles: "parent" (the household or school admin account), "moderator" (trust & safety
# staff working the report queue), "analyst" (hotline analyst: escalations, evidence, hash
# lists), "admin" (everything, including accounts).
ROLES = ("parent", "moderator", "analyst", "admin")
_STAFF = frozenset({P.ACCOUNT, P.OWN_PASSWORD, P.TOKENS, P.CASES_READ, P.CASES_WORK,
                    P.MEDIA_MATCH, P.ASSESS})
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "parent": frozenset({P.ACCOUNT, P.OWN_PASSWORD, P.TOKENS, P.HOUSEHOLD_READ,
                         P.HOUSEHOLD_CONTROL, P.HOUSEHOLD_EDIT, P.LEARNING, P.METRICS}),
    "moderator": _STAFF,
    "analyst": _STAFF | {P.CASES_ESCALATE, P.MEDIA_MANAGE},
    "admin": frozenset(p for p in Permission if p is not P.PUBLIC),
}

# API token scopes: a token holds the permissions of its account that its scopes name, never
# more. No scope carries ACCOUNTS or OWN_PASSWORD: a token cannot add accounts or change a
# password; only the "tokens" scope lets a token issue narrower tokens of its own.
SCOPES: dict[str, frozenset[Permission]] = {
    "read": frozenset({P.HOUSEHOLD_READ, P.CASES_READ, P.LEARNING, P.METRICS}),
    "dns": frozenset({P.HOUSEHOLD_READ, P.HOUSEHOLD_CONTROL}),
    "household": frozenset({P.HOUSEHOLD_READ, P.HOUSEHOLD_CONTROL, P.HOUSEHOLD_EDIT,
                            P.LEARNING}),
    "reports": frozenset({P.CASES_READ, P.CASES_WORK, P.CASES_ESCALATE}),
    "media": frozenset({P.MEDIA_MATCH, P.MEDIA_MANAGE}),
    "assess": frozenset({P.ASSESS}),
    "metrics": frozenset({P.METRICS}),
    "tokens": frozenset({P.TOKENS}),
}
SCOPE_TEXT = {
    "read": "read everything the account may read (nothing is changed)",
    "dns": "what a DNS control script needs: profiles and the query log, pause, allow for "
           "now, answer requests",
    "household": "everything in the parents' dashboard except accounts, passwords and tokens",
    "reports": "the report queue and case work",
    "media": "hash banks: match, and manage banks",
    "assess": "the message safety engine",
    "metrics": "Prometheus metrics",
    "tokens": "issue narrower, shorter-lived tokens (revoked with this one)",
}


@cache
def permissions_of(roles: frozenset[str], scopes: frozenset[str] | None) -> frozenset[Permission]:
    """What an account with ``roles`` may do; with a token, only what its ``scopes`` name."""
    held = frozenset().union(*(ROLE_PERMISSIONS.get(r, frozenset()) for r in roles))
    if scopes is None:
        return held
    granted = frozenset().union(*(SCOPES.get(s, frozenset()) for s in scopes))
    return held & (granted | {P.ACCOUNT})


def roles_with(permission: Permission) -> list[str]:
    """The roles that hold ``permission`` (admin holds them all)."""
    return [r for r in ROLES if permission in ROLE_PERMISSIONS[r]]


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] | None = None  # None: a signed-in browser; else the token's scopes
    token_id: int | None = None
    token_expires: datetime | None = None

    def has(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles, self.scopes)

    def can(self, permission: Permission) -> bool:
        return permission is P.PUBLIC or permission in self.permissions


def current_user(conn: HTTPConnection) -> User | None:
    user = getattr(conn.state, "user", None)
    return user if isinstance(user, User) else None


DENIED = "not allowed: "  # every refusal of this module starts so (tests look for it)


def refusal(user: User, permission: Permission) -> str:
    if user.scopes is not None and permission in permissions_of(user.roles, None):
        return (f"{DENIED}this API token's scopes ({', '.join(sorted(user.scopes)) or 'none'}) "
                f"do not include {permission.value}")
    holders = roles_with(permission)
    if not holders:  # pragma: no cover - every permission has a role (admin)
        return f"{DENIED}no account may do this"
    return f"{DENIED}needs the {' or '.join(holders)} role ({permission.value})"


def require(conn: HTTPConnection, permission: Permission) -> User | None:
    """The caller, when they hold ``permission``: 401 when nobody is signed in, 403 when the
    account (or the token's scopes) lacks it. PUBLIC lets anyone in (the user may be None)."""
    user = current_user(conn)
    if permission is P.PUBLIC:
        return user
    if user is None:
        raise HTTPException(401, "sign in first")
    if not user.can(permission):
        raise HTTPException(403, refusal(user, permission))
    return user


def require_user(conn: HTTPConnection, permission: Permission) -> User:
    """``require`` for a permission that needs an account: the signed-in user."""
    user = require(conn, permission)
    if user is None:
        raise HTTPException(401, "sign in first")
    return user
