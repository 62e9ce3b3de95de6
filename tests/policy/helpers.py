"""Small, explicit building blocks for engine tests: a catalog, lists and profiles built in code,
so the tests never depend on the shipped data files."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from kidshield.policy.ages import AgeBand
from kidshield.policy.catalog import Catalog, SafeSearchEngine, Service
from kidshield.policy.domains import DomainIndexBuilder, SuffixMap
from kidshield.policy.engine import PolicyEngine
from kidshield.policy.helplines import Helpline
from kidshield.policy.model import ALLOW_CATEGORY, BlockLists, ListInfo, Profile, Query
from kidshield.policy.reason import Decision, RuleSource
from kidshield.policy.state import EMPTY_STATE, ProfileState

UTC = ZoneInfo("UTC")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def small_catalog() -> Catalog:
    services = [
        Service("youtube", "YouTube", "video", ("youtube.com", "ytimg.com"), 13),
        Service("tiktok", "TikTok", "social", ("tiktok.com",), 13),
        Service("minecraft", "Minecraft", "gaming", ("minecraft.net",)),
        Service("chatroulette", "Chatroulette", "random_chat", ("chatroulette.com",), 18),
        Service("whatsapp", "WhatsApp", "messaging", ("whatsapp.com",), 13),
    ]
    engines = [
        SafeSearchEngine("google", "Google", "search", frozenset({"www.google.com", "google.com"}),
                         "forcesafesearch.google.com", "forcesafesearch.google.com"),
        SafeSearchEngine("youtube", "YouTube", "youtube",
                         frozenset({"www.youtube.com", "m.youtube.com"}),
                         "restrict.youtube.com", "restrictmoderate.youtube.com"),
        SafeSearchEngine("bing", "Bing", "search", frozenset({"www.bing.com"}),
                         "strict.bing.com", "strict.bing.com"),
    ]
    unsupported = [("yahoo", "Yahoo Search", ("search.yahoo.com",))]
    bypass = [
        ("doh", "Encrypted DNS resolvers", ("dns.google", "doh.example")),
        ("vpn", "VPN services", ("nordvpn.com",)),
    ]
    helplines = [
        Helpline("GB", "Childline", "https://www.childline.org.uk", ("childline.org.uk",)),
    ]
    return Catalog(services, engines, unsupported, bypass, helplines)


def block_lists(rows: Iterable[tuple[str, str]], exceptions: Iterable[tuple[str, str]] = (),
                allow: Iterable[str] = ()) -> BlockLists:
    """``rows``: (domain, category) block entries; ``exceptions``: (domain, category) @@ rules;
    ``allow``: entries of an allow list. Each category gets its own list (line = row number)."""
    builder = DomainIndexBuilder()
    categories = [ALLOW_CATEGORY]
    infos: list[ListInfo] = []

    def ids(category: str) -> tuple[int, int]:
        if category not in categories:
            categories.append(category)
            infos.append(ListInfo(f"{category}-list", f"/lists/{category}.txt"))
        cid = categories.index(category)
        return cid, next(i for i, info in enumerate(infos) if info.name == f"{category}-list")

    for line, (domain, category) in enumerate(rows, start=1):
        cid, lid = ids(category)
        builder.add(domain, cid, lid, line)
    for line, (domain, category) in enumerate(exceptions, start=1):
        cid, lid = ids(category)
        builder.add(domain, cid, lid, line, allow=True)
    allow = list(allow)
    if allow:
        infos.append(ListInfo("allowed", "/lists/allowed.txt"))
        for line, domain in enumerate(allow, start=1):
            builder.add(domain, 0, len(infos) - 1, line, allow=True)
    return BlockLists(builder.build(), categories, infos)


def make_profile(**kw: Any) -> Profile:
    allow = kw.pop("allow", ())
    deny = kw.pop("deny", ())
    kw.setdefault("id", "kid")
    kw.setdefault("name", "Kid")
    kw.setdefault("tz", LONDON)
    if "birth_date" not in kw:
        kw.setdefault("fixed_band", AgeBand.AGE_9_12)
    return Profile(
        allow=SuffixMap((d, RuleSource("allow list")) for d in allow),
        deny=SuffixMap((d, RuleSource("block list")) for d in deny),
        **kw,
    )


def engine(lists: BlockLists | None = None, catalog: Catalog | None = None) -> PolicyEngine:
    return PolicyEngine(catalog or small_catalog(), lists)


def decide(
    eng: PolicyEngine, name: str, profile: Profile, now: datetime,
    state: ProfileState = EMPTY_STATE,
) -> Decision:
    return eng.decide(Query(name), profile, now, state)


def local(tz: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    """A wall-clock time in ``tz`` (aware)."""
    return datetime(*args, tzinfo=tz, fold=fold)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def birthday_years_ago(years: int, on: date) -> date:
    return on.replace(year=on.year - years)
