"""Accounts: the first parent (setup link), sign-in with rate limiting, more accounts, passwords,
the parent PIN and API tokens. Every change is audited."""

from __future__ import annotations

import re
from typing import Any

from kidshield.errors import Conflict, InputError, TooManyRequests, Unauthorized
from kidshield.storage.protocols import ApiTokenInfo, WebUser
from kidshield.web.auth import TOKEN_PREFIX, digest, hash_secret, new_token, verify_secret
from kidshield.web.context import WebContext
from kidshield.web.errors import N_, NotFound, Refused

_PIN_RE = re.compile(r"^\d{4,8}$")


def setup_parent(ctx: WebContext, token: str, name: str, password: str) -> WebUser:
    if ctx.setup_token is None or ctx.users.count() > 0:
        raise Refused("setup is already done: sign in instead")
    if not token or token != ctx.setup_token:
        raise Refused("this setup link is not valid: use the link kidshield printed")
    check_password(password)
    user = ctx.users.create(name.strip(), hash_secret(password), frozenset({"parent", "admin"}),
                            ctx.now())
    ctx.setup_token = None
    ctx.audit(user.name, "account.setup", user.name)
    return user


def check_password(password: str) -> None:
    if len(password) < 10:
        raise InputError("password: use at least 10 characters")


def add_user(ctx: WebContext, actor: str, name: str, password: str,
             roles: frozenset[str]) -> WebUser:
    from kidshield.web.access import ROLES

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


def change_password(ctx: WebContext, actor: Any, current: str, new: str) -> None:
    user = ctx.users.by_id(actor.id)
    if user is None or not verify_secret(user.password_hash, current):
        raise Refused("current_password: that is not your current password")
    check_password(new)
    ctx.users.set_password(user.id, hash_secret(new))
    ctx.audit(user.name, "account.password", user.name)


def login(ctx: WebContext, name: str, password: str, ip: str) -> WebUser:
    keys = (f"ip:{ip}", f"user:{name.lower()}")
    if ctx.login_limiter.blocked(*keys):
        raise TooManyRequests("too many failed sign-ins: wait a few minutes and try again")
    user = ctx.users.by_name(name.strip())
    if user is None or not verify_secret(user.password_hash, password):
        ctx.login_limiter.fail(*keys)
        ctx.audit(name[:64] or "?", "login.failed", ip)
        raise Unauthorized("wrong name or password")
    ctx.login_limiter.reset(*keys)
    ctx.audit(user.name, "login", ip)
    return user


def set_pin(ctx: WebContext, actor: WebUser | Any, pin: str) -> None:
    if not _PIN_RE.match(pin):
        raise InputError("pin: use 4 to 8 digits")
    ctx.users.set_pin(actor.id, hash_secret(pin))
    ctx.audit(actor.name, "pin.set", actor.name)


def check_pin(ctx: WebContext, pin: str, ip: str) -> str:
    """The name of the parent whose PIN this is; Refused when wrong or after too many tries."""
    key = f"pin:{ip}"
    if ctx.pin_limiter.blocked(key):
        raise TooManyRequests(N_("Too many wrong PINs. Wait a few minutes."))
    for user in ctx.users.all():
        if user.pin_hash and pin and verify_secret(user.pin_hash, pin):
            ctx.pin_limiter.reset(key)
            return user.name
    ctx.pin_limiter.fail(key)
    ctx.audit("child page", "pin.wrong", ip)
    raise Refused(N_("That PIN is not right."))


def create_token(ctx: WebContext, actor: Any, name: str) -> tuple[ApiTokenInfo, str]:
    if not name.strip():
        raise InputError("name: give the token a name (what uses it)")
    token = new_token(TOKEN_PREFIX)
    info = ctx.tokens.create(actor.id, name.strip()[:128], digest(token), ctx.now())
    ctx.audit(actor.name, "token.create", name)
    return info, token


def revoke_token(ctx: WebContext, actor: Any, token_id: int) -> None:
    if not ctx.tokens.revoke(token_id, ctx.now()):
        raise NotFound(f"no active token {token_id}")
    ctx.audit(actor.name, "token.revoke", str(token_id))
