"""Downloading lists from a real HTTP server on 127.0.0.1: conditional requests, and a failed or
bad download keeping the last good copy."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kidshield.config import Config, parse_config
from kidshield.errors import ListSourceError
from kidshield.lists.loader import load_lists
from kidshield.lists.sources import UpdateResult, cache_path, require_local, update_list
from kidshield.storage.db import Database
from kidshield.storage.sql import SqlListMetaStore
from tests.lists.helpers import FakeListServer, Reply, serve_lists

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
GOOD = "a.example\nb.example\n# comment\n"


@pytest.fixture
def server() -> Iterator[FakeListServer]:
    with serve_lists() as fake:
        yield fake


def make_config(tmp_path: Path, url: str, fmt: str = "auto") -> Config:
    text = f"""
[server]
data_dir = "data"
storage = "ks.db"

[[lists]]
name = "adult"
source = "{url}"
category = "adult"
format = "{fmt}"
"""
    return parse_config(text, source=str(tmp_path / "kidshield.toml"), base_dir=tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlListMetaStore]:
    db = Database.open(tmp_path / "ks.db")
    yield SqlListMetaStore(db)
    db.close()


def fetch(config: Config, store: SqlListMetaStore, now: datetime = NOW) -> UpdateResult:
    with httpx.Client(timeout=5.0) as client:
        return update_list(config, config.lists[0], store, client, now)


def loaded_domains(config: Config) -> bool:
    lists = load_lists(config).lists
    return lists.index.contains_suffix("www.a.example") and lists.index.contains_suffix(
        "b.example")


def test_first_download_is_checked_cached_and_recorded(
    tmp_path: Path, server: FakeListServer, store: SqlListMetaStore
) -> None:
    server.reply = Reply(body=GOOD.encode(), etag='"v1"',
                         last_modified="Sat, 28 Nov 2026 10:00:00 GMT")
    config = make_config(tmp_path, server.url)
    result = fetch(config, store)
    assert (result.status, result.message) == ("ok", "2 rules")
    target = cache_path(config, config.lists[0])
    assert target.read_text(encoding="utf-8") == GOOD
    assert sorted(p.name for p in target.parent.iterdir()) == ["adult.txt"]  # no .part left
    meta = store.get("adult")
    assert meta is not None
    assert (meta.status, meta.etag, meta.rules, meta.fetched_at) == ("ok", '"v1"', 2, NOW)
    assert meta.last_modified == "Sat, 28 Nov 2026 10:00:00 GMT"
    assert meta.sha256 is not None and len(meta.sha256) == 64
    assert server.requests[0]["user-agent"].startswith("kidshield/")
    assert "if-none-match" not in server.requests[0]
    assert loaded_domains(config)


def test_unchanged_list_is_not_downloaded_again(
    tmp_path: Path, server: FakeListServer, store: SqlListMetaStore
) -> None:
    server.reply = Reply(body=GOOD.encode(), etag='"v1"',
                         last_modified="Sat, 28 Nov 2026 10:00:00 GMT")
    config = make_config(tmp_path, server.url)
    fetch(config, store)
    later = NOW + timedelta(hours=24)
    result = fetch(config, store, later)
    assert result.status == "not_modified"
    assert server.requests[1]["if-none-match"] == '"v1"'
    assert server.requests[1]["if-modified-since"] == "Sat, 28 Nov 2026 10:00:00 GMT"
    meta = store.get("adult")
    assert meta is not None
    assert (meta.status, meta.fetched_at, meta.etag, meta.rules) == ("not_modified", later,
                                                                     '"v1"', 2)
    assert loaded_domains(config)


def test_changed_list_replaces_the_cached_copy(
    tmp_path: Path, server: FakeListServer, store: SqlListMetaStore
) -> None:
    server.reply = Reply(body=GOOD.encode(), etag='"v1"')
    config = make_config(tmp_path, server.url)
    fetch(config, store)
    server.reply = Reply(body=b"c.example\n", etag='"v2"')
    assert fetch(config, store).status == "ok"
    assert cache_path(config, config.lists[0]).read_text(encoding="utf-8") == "c.example\n"
    meta = store.get("adult")
    assert meta is not None and (meta.etag, meta.rules) == ('"v2"', 1)


MOSTLY_INVALID = ("ok.example\n" + "<td>not a domain</td>\n" * 20).encode()


@pytest.mark.parametrize(
    ("reply", "status", "message"),
    [
        (Reply(body=b"", etag='"v2"'), "rejected", "holds no usable rules"),
        (Reply(body=b"# only comments\n\n", etag='"v2"'), "rejected", "holds no usable rules"),
        (Reply(body=b"<!DOCTYPE html>\n<html><body>Moved</body></html>\n", etag='"v2"'),
         "rejected", "this is not a list"),
        (Reply(body=MOSTLY_INVALID, etag='"v2"'), "rejected",
         "mostly invalid (20 bad lines, 1 rules)"),
        (Reply(status=500, body=b"oops", etag='"v2"'), "failed", "HTTP 500"),
        (Reply(status=404, body=b"", etag='"v2"'), "failed", "HTTP 404"),
    ],
    ids=["empty", "only-comments", "web-page", "mostly-invalid", "http-500", "http-404"],
)
def test_bad_download_keeps_the_last_good_copy(
    tmp_path: Path, server: FakeListServer, store: SqlListMetaStore, reply: Reply, status: str,
    message: str,
) -> None:
    server.reply = Reply(body=GOOD.encode(), etag='"v1"')
    config = make_config(tmp_path, server.url)
    fetch(config, store)
    target = cache_path(config, config.lists[0])
    before = target.read_bytes()

    server.reply = reply
    result = fetch(config, store, NOW + timedelta(hours=1))
    assert result.status == status
    assert message in result.message
    assert "keeping the last good copy" in result.message
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["adult.txt"]
    meta = store.get("adult")
    assert meta is not None
    assert meta.status == status
    assert message in meta.message
    # the metadata still describes the copy in use, so the next request stays conditional
    assert (meta.etag, meta.rules, meta.fetched_at) == ('"v1"', 2, NOW)
    assert loaded_domains(config)


def test_connection_refused_keeps_the_last_good_copy(
    tmp_path: Path, server: FakeListServer, store: SqlListMetaStore
) -> None:
    server.reply = Reply(body=GOOD.encode(), etag='"v1"')
    config = make_config(tmp_path, server.url)
    fetch(config, store)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    dead = make_config(tmp_path, f"http://127.0.0.1:{dead_port}/list.txt")
    result = fetch(dead, store)
    assert result.status == "failed"
    assert "download failed" in result.message
    meta = store.get("adult")
    assert meta is not None and meta.status == "failed"
    assert cache_path(config, config.lists[0]).read_text(encoding="utf-8") == GOOD
    assert loaded_domains(config)


def test_failed_first_download_leaves_nothing_and_is_recorded(
    tmp_path: Path, server: FakeListServer, store: SqlListMetaStore
) -> None:
    server.reply = Reply(status=500)
    config = make_config(tmp_path, server.url)
    result = fetch(config, store)
    assert result.status == "failed"
    assert "keeping" not in result.message
    assert not cache_path(config, config.lists[0]).exists()
    meta = store.get("adult")
    assert meta is not None and (meta.status, meta.source) == ("failed", server.url)
    with pytest.raises(ListSourceError, match="has not been downloaded yet"):
        require_local(config, config.lists[0])
    assert load_lists(config).problems == [
        "list 'adult' has not been downloaded yet: run 'kidshield lists update'"]


def test_changed_source_url_is_downloaded_unconditionally(
    tmp_path: Path, server: FakeListServer, store: SqlListMetaStore
) -> None:
    server.reply = Reply(body=GOOD.encode(), etag='"v1"')
    fetch(make_config(tmp_path, server.url), store)
    moved = make_config(tmp_path, server.url + "?v=2")
    assert fetch(moved, store).status == "ok"
    assert "if-none-match" not in server.requests[1]


def test_local_sources_are_not_downloaded(tmp_path: Path, store: SqlListMetaStore) -> None:
    (tmp_path / "mine.txt").write_text("a.example\n", encoding="utf-8")
    config = make_config(tmp_path, "mine.txt")
    with httpx.Client() as client:
        assert update_list(config, config.lists[0], store, client, NOW).status == "local"
        missing = make_config(tmp_path, "nope.txt")
        result = update_list(missing, missing.lists[0], store, client, NOW)
    assert result.status == "failed" and "no such file" in result.message


def test_deleted_cache_is_downloaded_again_without_conditions(
    tmp_path: Path, server: FakeListServer, store: SqlListMetaStore
) -> None:
    server.reply = Reply(body=GOOD.encode(), etag='"v1"')
    config = make_config(tmp_path, server.url)
    fetch(config, store)
    cache_path(config, config.lists[0]).unlink()
    assert fetch(config, store).status == "ok"
    assert "if-none-match" not in server.requests[1]
    assert loaded_domains(config)


def test_lists_due_are_the_url_lists_older_than_their_update_hours(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from kidshield.config import parse_config
    from kidshield.lists.sources import cache_path, lists_due
    from kidshield.storage.db import Database
    from kidshield.storage.protocols import ListMeta
    from kidshield.storage.sql import SqlListMetaStore

    (tmp_path / "local.txt").write_text("a.example\n")
    config = parse_config(
        '[[lists]]\nname = "fresh"\nsource = "http://127.0.0.1:9/fresh.txt"\ncategory = "ads"\n'
        'update_hours = 24\n'
        '[[lists]]\nname = "old"\nsource = "http://127.0.0.1:9/old.txt"\ncategory = "ads"\n'
        'update_hours = 6\n'
        '[[lists]]\nname = "never"\nsource = "http://127.0.0.1:9/never.txt"\ncategory = "ads"\n'
        '[[lists]]\nname = "local"\nsource = "local.txt"\ncategory = "ads"\n',
        base_dir=tmp_path)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    db = Database.open(tmp_path / "k.db")
    store = SqlListMetaStore(db)
    for name, age in (("fresh", 3), ("old", 7)):
        lst = next(x for x in config.lists if x.name == name)
        path = cache_path(config, lst)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x.example\n")
        store.put(ListMeta(name=name, source=lst.source, fetched_at=now - timedelta(hours=age),
                           status="ok"))
    assert [x.name for x in lists_due(config, store, now)] == ["old", "never"]
    db.close()
