"""Who is asking, for every web route: the contract between the authentication middleware and
the routes of each feature (dashboard, reports, media, lessons).

The middleware sets ``request.state.user`` to a ``User`` (or None for an anonymous visitor).
Routes never look at cookies or tokens themselves; they call ``require_role``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.requests import Request

# Roles: "parent" (the household or school admin account), "moderator" (trust & safety
# staff working the report queue), "analyst" (hotline analyst: escalations, evidence),
# "admin" (everything, including settings and users).
ROLES = ("parent", "moderator", "analyst", "admin")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)

    def has(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles


def current_user(request: Request) -> User | None:
    user = getattr(request.state, "user", None)
    return user if isinstance(user, User) else None


def require_role(request: Request, *roles: str) -> User:
    """The signed-in user if they hold one of ``roles``; 401 when not signed in, 403 when the
    role is missing (JSON or HTML is the error handler's concern)."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "sign in first")
    if roles and not any(user.has(r) for r in roles):
        raise HTTPException(403, f"needs the {' or '.join(roles)} role")
    return user
