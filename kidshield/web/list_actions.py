"""Block lists a parent adds and removes in the dashboard (the page and the API call these).

A list added here is a dashboard edit of a whole ``[[lists]]`` entry (kidshield/state/
overlay.py): every node sharing the database loads it, ``kidshield config export`` writes it
into the file, and the file stays untouched. Only http(s) sources: a path on the server would
let a dashboard account read the server's files through the lines a list shows as unreadable.
The first download happens before the list is stored, so a list that cannot be fetched or read
is refused with the reason and never shown as if it blocked something.
"""

from __future__ import annotations

import httpx
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from kidshield.config import ListConfig
from kidshield.errors import InputError, NotFound
from kidshield.lists.builtin import PREFIX
from kidshield.lists.sources import UpdateResult, cache_path, is_url, update_list
from kidshield.state.overlay import Change
from kidshield.storage.sql import SqlListMetaStore
from kidshield.web.context import WebContext
from kidshield.web.reasons import CATEGORY_NAMES

FORMATS = ("auto", "hosts", "domains", "adblock")
# what a parent may say a list blocks: the categories the dashboard names ("reported" is the
# moderators' own list)
CATEGORIES = tuple(sorted(set(CATEGORY_NAMES) - {"reported"}))
DOWNLOAD_TIMEOUT = httpx.Timeout(60.0, connect=15.0)


def _check(ctx: WebContext, name: str, source: str, category: str, fmt: str) -> ListConfig:
    if not name:
        raise InputError("name: a short name for the list, like adult-extra", field="name")
    if name.startswith(PREFIX):
        raise InputError(f"name: names starting with {PREFIX!r} are kept for the lists "
                         "shipped with kidshield", field="name")
    if any(lst.name == name for lst in ctx.config.lists):
        raise InputError(f"name: there is already a list called {name!r}", field="name")
    if not is_url(source):
        raise InputError("source: an http:// or https:// address of the list (a file on the "
                         "server goes in the configuration file)", field="source")
    if category not in CATEGORIES:
        raise InputError("category: choose what the list's sites are", field="category")
    if fmt not in FORMATS:
        raise InputError(f"format: one of {', '.join(FORMATS)}", field="format")
    try:
        return ListConfig(name=name, source=source, format=fmt,
                          category=category)
    except ValidationError as exc:
        problem = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise InputError(f"name: {problem}", field="name") from None


async def add_list(ctx: WebContext, actor: str, name: str, source: str, category: str,
                   fmt: str = "auto") -> UpdateResult:
    """Download the list, and when it holds rules, keep it as a dashboard edit and load it."""
    lst = _check(ctx, name, source, category, fmt)
    change = Change("lists", lst.name, {"name": lst.name, "source": lst.source,
                                        "format": lst.format, "category": category})
    ctx.editor.prepare([change], actor)  # refused here if the configuration would not take it
    store = SqlListMetaStore(ctx.db)
    config = ctx.config

    def fetch() -> UpdateResult:
        with httpx.Client(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True) as client:
            return update_list(config, lst, store, client, ctx.now())

    result = await run_in_threadpool(fetch)
    if result.status != "ok":
        store.delete(lst.name)  # nothing was added: no status of a list that does not exist
        raise InputError(f"source: {result.message}", field="source")
    ctx.editor.change([change], actor, ctx.audit_entry(
        actor, "lists.add", lst.name, source=lst.source, category=category, format=lst.format))
    await ctx.host.apply_list_edits()
    return result


async def remove_list(ctx: WebContext, actor: str, name: str) -> None:
    """Stop using a list (one the file names too: the dashboard's removal holds over it, as
    for a device). A downloaded copy and its status are deleted."""
    config = ctx.config
    lst = next((x for x in config.lists if x.name == name), None)
    if lst is None:
        raise NotFound(f"no list named {name!r}")
    ctx.editor.change([Change("lists", name, None)], actor,
                      ctx.audit_entry(actor, "lists.remove", name, source=lst.source))
    await ctx.host.apply_list_edits()
    ctx.list_progress.pop(name, None)
    if is_url(lst.source):
        cache_path(config, lst).unlink(missing_ok=True)
        SqlListMetaStore(ctx.db).delete(name)
