"""Accounts: the first parent (setup link), sign-in, more accounts, passwords, the parent PIN
and API tokens. Every change is audited; every guess (sign-in, PIN, setup link) goes through
the server's one rate limiter (``web/ratelimit.py``) before any password is checked.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from dataclasses import dataclass
from datetime import timedelta

from kidshield.errors import Conflict, InputError, TooManyRequests, Unauthorized
from kidshield.storage.protocols import ApiTokenInfo, WebUser, account_key
from kidshield.web.access import (
    ROLES,
    SCOPES,
    Permission,
    User,
    permissions_of,
    roles_with,
)
from kidshield.web.auth import (
    TOKEN_PREFIX,
    digest,
    hash_secret,
    known_device,
    new_token,
    verify_password,
    verify_secret,
)
from kidshield.web.context import WebContext
from kidshield.web.errors import N_, NotFound, Refused
from kidshield.web.ratelimit import client_key, is_this_machine

_PIN_RE = re.compile(r"^[0-9]{6,12}$")  # not \d: it takes any script's digits
PIN_DIGITS = 6  # shorter PINs (set before this rule) work, but are guessed more slowly
TOKEN_DAYS = 90  # an API token's life unless another is asked for (at most TOKEN_MAX_DAYS)
TOKEN_MAX_DAYS = 366
_setup_lock = threading.Lock()


def _wait(seconds: float, message: str) -> TooManyRequests:
    minutes = max(1, round(seconds / 60))
    return TooManyRequests(f"{message} ({minutes} min)", retry_after=seconds)


# -- first run --------------------------------------------------------------------------------
def setup_parent(ctx: WebContext, token: str, name: str, password: str,
                 client: str = "127.0.0.1") -> WebUser:
    """The first account, from the one-time link: once (under a lock here, and a claim in the
    database for several servers), from the networks ``[web] setup_networks`` allows, before
    the link expires."""
    wait = ctx.limiter.acquire(("setup.client", client_key(client)))
    if wait:
        raise _wait(wait, "too many tries with a setup link: wait and try again")
    if not _setup_allowed(ctx, client):
        raise Refused("the setup link only works from this machine or the home network "
                      "([web] setup_networks)")
    with _setup_lock:
        if ctx.setup_token is None or ctx.users.count() > 0:
            raise Refused("setup is already done: sign in instead")
        if ctx.setup_expires is not None and ctx.now() >= ctx.setup_expires:
            raise Refused("this setup link has expired: restart kidshield for a new one")
        if not token or not _same(token, ctx.setup_token):
            raise Refused("this setup link is not valid: use the link kidshield printed")
        check_password(password)
        user = ctx.users.create_first(name.strip(), hash_secret(password),
                                      frozenset({"parent", "admin"}), ctx.now())
        ctx.setup_token = None
        if user is None:
            raise Refused("setup is already done: sign in instead")
    ctx.limiter.release("setup.client", client_key(client))
    ctx.audit(user.name, "account.setup", user.name, client=client)
    return user


def _setup_allowed(ctx: WebContext, client: str) -> bool:
    try:
        ip = ipaddress.ip_address(client.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(n) for n in ctx.config.web.setup_networks)


def _same(given: str, expected: str) -> bool:
    import hmac

    return hmac.compare_digest(given.encode(), expected.encode())


# -- accounts and passwords -------------------------------------------------------------------
def check_password(password: str) -> None:
    if len(password) < 10:
        raise InputError("password: use at least 10 characters")


def add_user(ctx: WebContext, actor: str, name: str, password: str,
             roles: frozenset[str]) -> WebUser:
    name = name.strip()
    if not name:
        raise InputError("name: give the account a name")
    unknown = roles - set(ROLES)
    if not roles or unknown:
        raise InputError(f"roles: choose from {', '.join(ROLES)}")
    if ctx.users.by_name(name) is not None:
        raise Conflict(f"an account named {name!r} already exists", field="name")
    check_password(password)
    user = ctx.users.create(name, hash_secret(password), roles, ctx.now())
    ctx.audit(actor, "account.create", name, roles=sorted(roles))
    return user


def change_password(ctx: WebContext, actor: User, current: str, new: str,
                    session: str | None = None) -> None:
    """A new password ends every other session of the account and revokes its API tokens
    (whoever knew the old one is out); ``session`` (a cookie's digest) stays signed in."""
    user = ctx.users.by_id(actor.id)
    if user is None or not verify_secret(user.password_hash, current):
        raise Refused("current_password: that is not your current password")
    check_password(new)
    ctx.users.set_password(user.id, hash_secret(new))
    ended = ctx.sessions.delete_for_user(user.id, keep=session)
    revoked = ctx.tokens.revoke_for_user(user.id, ctx.now())
    ctx.audit(user.name, "account.password", user.name, sessions_ended=ended,
              tokens_revoked=revoked)


# -- sign-in ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignIn:
    user: WebUser
    device: str | None  # the known-device id the browser showed, if any


def login(ctx: WebContext, name: str, password: str, client: str,
          device_cookie: str | None = None) -> SignIn:
    """Check a name and password, slowly for guessers and in the same time for every name.

    Failures count per device address (any name), per address (or known browser) and name,
    and, from devices the account never signed in on, per name. A browser that signed in to
    this account before (its known-device cookie) is counted on its own, and the kidshield
    machine itself (127.0.0.1) is never held back by the per-name count: guesses from a
    child's tablet slow down the tablet and unknown devices, never the parent's."""
    user = ctx.users.by_name(name.strip())
    known = known_device(ctx.secret, user.id, device_cookie) if user is not None else None
    who, account = client_key(client), account_key(name)
    attempt = f"device:{known}|{account}" if known else f"{who}|{account}"
    keys = [("signin.client", who), ("signin.attempt", attempt)]
    if known is None and not is_this_machine(client):
        keys.append(("signin.name", account))
    wait = ctx.limiter.acquire(*keys)
    if wait:
        ctx.audit(name[:64] or "?", "login.limited", client)
        raise _wait(wait, "too many failed sign-ins: wait a few minutes and try again")
    if user is None or not verify_password(user.password_hash, password):
        if user is None:
            verify_password(None, password)  # the same time as a wrong password
        ctx.audit(name[:64] or "?", "login.failed", client)
        raise Unauthorized("wrong name or password")
    ctx.limiter.reset("signin.attempt", attempt)
    for kind, key in keys:
        if kind != "signin.attempt":
            ctx.limiter.release(kind, key)
    ctx.audit(user.name, "login", client)
    return SignIn(user, known)


# -- the parent PIN -------------------------------------------------------------------------------
def set_pin(ctx: WebContext, actor: User | WebUser, pin: str) -> None:
    if not _PIN_RE.match(pin):
        raise InputError(f"pin: use {PIN_DIGITS} to 12 digits")
    ctx.users.set_pin(actor.id, hash_secret(pin), len(pin))
    ctx.audit(actor.name, "pin.set", actor.name)


def short_pins(ctx: WebContext) -> list[WebUser]:
    """Accounts whose PIN is shorter than ``PIN_DIGITS`` (or of unknown length)."""
    return [u for u in ctx.users.all()
            if u.pin_hash and (u.pin_length is None or u.pin_length < PIN_DIGITS)]


def check_pin(ctx: WebContext, pin: str, client: str) -> str:
    """The name of the parent whose PIN this is; Refused when wrong, TooManyRequests when
    this device or the household has guessed too often. With a PIN shorter than 6 digits the
    household may guess less often, so it is no quicker to find than a 6-digit one."""
    users = [u for u in ctx.users.all() if u.pin_hash]
    short = any(u.pin_length is None or u.pin_length < PIN_DIGITS for u in users)
    household = "pin.household.short" if short else "pin.household"
    keys = [("pin.client", client_key(client)), (household, "household")]
    wait = ctx.limiter.acquire(*keys)
    if wait:
        ctx.audit("child page", "pin.limited", client)
        raise TooManyRequests(N_("Too many wrong PINs. Wait a few minutes."), retry_after=wait)
    for user in users:
        if pin and user.pin_hash and verify_secret(user.pin_hash, pin):
            for kind, key in keys:
                ctx.limiter.release(kind, key)
            if user.pin_length is None:  # learnt now: a long PIN set long ago is not short
                ctx.users.set_pin(user.id, user.pin_hash, len(pin))
            return user.name
    ctx.audit("child page", "pin.wrong", client)
    raise Refused(N_("That PIN is not right."))


def unlock_pin(ctx: WebContext, actor: str) -> None:
    """A parent lifts the PIN limits (after a child used them up guessing)."""
    for kind in ("pin.client", "pin.household", "pin.household.short"):
        ctx.limiter.reset(kind)
    ctx.audit(actor, "pin.unlock", "")


# -- API tokens -----------------------------------------------------------------------------------
def create_token(ctx: WebContext, actor: User, name: str, scopes: frozenset[str],
                 days: int = TOKEN_DAYS) -> tuple[ApiTokenInfo, str]:
    """A token for ``actor``'s account holding only what ``scopes`` name, for ``days``. A
    token issuing one (with the "tokens" scope) gives no more than it holds itself, for no
    longer than it lives itself, and the new token is revoked with it."""
    if not name.strip():
        raise InputError("name: give the token a name (what uses it)")
    unknown = sorted(scopes - set(SCOPES))
    if not scopes or unknown:
        raise InputError(f"scopes: choose from {', '.join(SCOPES)}", field="scopes")
    if not 1 <= days <= TOKEN_MAX_DAYS:
        raise InputError(f"expires_in_days: from 1 to {TOKEN_MAX_DAYS}", field="expires_in_days")
    held = permissions_of(actor.roles, None)
    for scope in sorted(scopes):
        if not SCOPES[scope] & held:
            needs = sorted({r for p in SCOPES[scope] for r in roles_with(p)} - {"admin"})
            raise InputError(f"scopes: {scope!r} gives this account nothing (it needs the "
                             f"{' or '.join(needs)} role)", field="scopes")
    now = ctx.now()
    expires = now + timedelta(days=days)
    parent: int | None = None
    if actor.scopes is not None:  # a token issues a token
        if not scopes <= actor.scopes:
            extra = ", ".join(sorted(scopes - actor.scopes))
            raise Refused(f"scopes: this token cannot give what it does not hold ({extra})",
                          field="scopes")
        if actor.token_expires is not None:
            expires = min(expires, actor.token_expires)
        parent = actor.token_id
    token = new_token(TOKEN_PREFIX)
    info = ctx.tokens.create(actor.id, name.strip()[:128], digest(token), now, scopes,
                             expires, parent)
    ctx.audit(actor.name, "token.create", name, scopes=sorted(scopes),
              expires=expires.isoformat(), issued_by_token=parent)
    return info, token


def visible_tokens(ctx: WebContext, actor: User) -> list[ApiTokenInfo]:
    """The account's own tokens (an admin sees every account's)."""
    if actor.can(Permission.ACCOUNTS):
        return ctx.tokens.list()
    return ctx.tokens.list(actor.id)


def revoke_token(ctx: WebContext, actor: User, token_id: int) -> list[int]:
    """Revoke a token and every token issued from it; the ids revoked."""
    token = ctx.tokens.get(token_id)
    if token is None or token.revoked_at is not None or (
            token.user_id != actor.id and not actor.can(Permission.ACCOUNTS)):
        raise NotFound(f"no active token {token_id}")
    revoked = ctx.tokens.revoke(token_id, ctx.now())
    issued = [i for i in revoked if i != token_id]
    ctx.audit(actor.name, "token.revoke", str(token_id), with_issued=issued or None)
    return revoked
