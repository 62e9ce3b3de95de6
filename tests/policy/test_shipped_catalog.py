"""A few checks against the shipped data files (skipped while a file is not there yet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kidshield.errors import KidshieldError
from kidshield.policy.ages import AgeBand
from kidshield.policy.catalog import DATA_DIR, Catalog, default_catalog, load_catalog
from kidshield.policy.reason import Reason
from tests.policy.helpers import LONDON, decide, engine, local, make_profile

DAY = local(LONDON, 2026, 12, 1, 15, 0)


def shipped(*names: str) -> Catalog:
    missing = [n for n in names if not (DATA_DIR / n).is_file()]
    if missing:
        pytest.skip(f"shipped data file(s) not present yet: {', '.join(missing)}")
    return default_catalog()


def test_shipped_services_block_tiktok_for_9_12() -> None:
    cat = shipped("services.toml")
    d = decide(engine(catalog=cat), "www.tiktok.com", make_profile(), DAY)
    assert (d.reason, d.service) == (Reason.SERVICE, "tiktok")


def test_shipped_safe_search_rewrites_google_and_youtube() -> None:
    cat = shipped("safesearch.toml", "services.toml")
    prof = make_profile(fixed_band=AgeBand.AGE_13_15)
    eng = engine(catalog=cat)
    assert decide(eng, "www.google.com", prof, DAY).target == "forcesafesearch.google.com"
    assert decide(eng, "www.youtube.com", prof, DAY).target == "restrictmoderate.youtube.com"


def test_shipped_bypass_list_blocks_a_public_doh_resolver() -> None:
    cat = shipped("bypass.toml")
    assert decide(engine(catalog=cat), "dns.google", make_profile(), DAY).reason is Reason.BYPASS


def test_shipped_helplines_are_reachable_at_bedtime() -> None:
    cat = shipped("helplines.toml")
    assert cat.helplines, "helplines.toml lists no helplines"
    domain = next(d for h in cat.helplines for d in h.domains)
    d = decide(engine(catalog=cat), domain, make_profile(), local(LONDON, 2026, 12, 1, 23))
    assert d.reason is Reason.HELPLINE


def test_shipped_data_never_puts_a_helpline_on_a_block_list() -> None:
    cat = shipped("helplines.toml", "bypass.toml", "services.toml")
    for h in cat.helplines:
        for domain in h.domains:
            assert domain not in cat.bypass, domain
            assert domain not in cat.service_index, domain


def test_missing_data_files_give_an_empty_catalog(tmp_path: Path) -> None:
    cat = load_catalog(tmp_path)
    assert (cat.services, cat.engines, cat.helplines) == ({}, {}, [])


def test_broken_data_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "services.toml").write_text("[[service]\n", encoding="utf-8")
    with pytest.raises(KidshieldError, match=r"services\.toml: shipped data file is broken"):
        load_catalog(tmp_path)


def test_catalog_data_dir_loads_idn_domains_as_punycode(tmp_path: Path) -> None:
    (tmp_path / "services.toml").write_text(
        '[[service]]\nid = "buch"\nname = "Buch"\ndomains = ["Bücher.DE"]\n', encoding="utf-8")
    cat = load_catalog(tmp_path)
    assert cat.services["buch"].domains == ("xn--bcher-kva.de",)
    assert cat.services["buch"].group == "other"


# -- services, bypass names and safe search (issue 14) -------------------------------------

# Domains that sibling services of one company legitimately share (see services.toml).
SHARED_BY_SIBLINGS = {"fbcdn.net": {"facebook", "instagram"}}
# Shared infrastructure that no service may list as a whole (services.toml's rules).
SHARED_INFRASTRUCTURE = {
    "akamaihd.net", "akamaized.net", "cloudfront.net", "fastly.net", "googleapis.com",
    "gstatic.com", "googleusercontent.com", "google.com", "apple.com", "icloud.com",
    "microsoft.com", "bing.com", "amazon.com", "amazonaws.com", "azureedge.net", "qlogo.cn",
    "garena.com", "epicgames.dev", "playfabapi.com", "cloudflare.com", "edgesuite.net",
}


def test_shipped_services_number_at_least_130_with_the_child_relevant_ones() -> None:
    cat = shipped("services.toml")
    assert len(cat.services) >= 130
    for sid in ("bigo_live", "4chan", "imgur", "deepseek", "grok", "copilot", "line",
                "kakaotalk", "xiaohongshu", "weibo", "character_ai", "vk", "qq", "wechat",
                "zalo", "sharechat", "moj", "likee", "kwai", "telegram", "yubo", "wizz",
                "monkey", "azar", "hoop", "threads", "bluesky", "mastodon", "twitch", "kick",
                "rumble", "pinterest", "tumblr", "onlyfans", "fansly", "patreon", "steam",
                "fortnite", "xbox", "playstation", "nintendo", "minecraft", "hoyoverse", "pubg",
                "free_fire", "among_us", "brawl_stars", "clash_of_clans", "riot_games", "ea",
                "battle_net", "chatgpt", "claude", "gemini", "perplexity", "poe", "replika",
                "chai", "talkie", "janitor_ai"):
        assert sid in cat.services, sid


def test_shipped_services_do_not_share_domains_or_list_shared_infrastructure() -> None:
    cat = shipped("services.toml")
    owners: dict[str, set[str]] = {}
    for service in cat.services.values():
        assert service.domains, service.id
        for domain in service.domains:
            owners.setdefault(domain, set()).add(service.id)
            assert domain not in SHARED_INFRASTRUCTURE, (service.id, domain)
    shared = {d: o for d, o in owners.items() if len(o) > 1}
    assert shared == SHARED_BY_SIBLINGS
    # a name of one service under another's domain: the more specific one wins, so the
    # other cannot block it; only WeChat's hosts under Tencent's portal are meant that way
    nested = set()
    for service in cat.services.values():
        for domain in service.domains:
            labels = domain.split(".")
            for i in range(1, len(labels) - 1):
                for other in owners.get(".".join(labels[i:]), set()) - {service.id}:
                    nested.add((service.id, domain, other))
    assert nested == {("wechat", "weixin.qq.com", "qq"), ("wechat", "wx.qq.com", "qq"),
                      ("roblox", "roblox.qq.com", "qq")}


def test_shipped_services_include_their_own_cdns() -> None:
    cat = shipped("services.toml")
    for sid, cdn in [("tiktok", "p16-sign.byteimg.com"), ("tiktok", "v16.ibytedtos.com"),
                     ("tiktok", "v19.tiktokcdn.com"), ("roblox", "tr.rbxcdn.com"),
                     ("roblox", "apis.rbxinfra.com"), ("bilibili", "i0.hdslb.com"),
                     ("xiaohongshu", "sns-img.xhscdn.com"), ("weibo", "wx1.wbimg.com")]:
        assert cat.service_index.match(cdn) is not None and \
            cat.service_index.match(cdn)[1] == sid, cdn  # type: ignore[index]


def test_shipped_min_ages_block_adult_only_chat_services_for_a_13_year_old() -> None:
    cat = shipped("services.toml")
    prof = make_profile(fixed_band=AgeBand.AGE_13_15)
    eng = engine(catalog=cat)
    for name in ("4chan.org", "www.bigolive.tv", "replika.com", "janitorai.com", "azarlive.com"):
        d = decide(eng, name, prof, DAY)
        assert d.reason is Reason.SERVICE, name
    assert decide(eng, "chatgpt.com", prof, DAY).reason is Reason.ALLOWED


def test_shipped_bypass_covers_private_relay_canary_vpns_and_tunnels() -> None:
    cat = shipped("bypass.toml")
    prof = make_profile()
    eng = engine(catalog=cat)
    for name, group in [("mask.icloud.com", "private_relay"),
                        ("mask-h2.icloud.com", "private_relay"),
                        ("mask-canary.icloud.com", "private_relay"),
                        ("1clickvpn.com", "vpn"), ("www.1clickvpn.com", "vpn"),
                        ("abcd-1-2-3-4.ngrok.io", "tunnel"), ("x.ngrok-free.app", "tunnel"),
                        ("x.ngrok.app", "tunnel"), ("quiet-fox.loca.lt", "tunnel"),
                        ("x-y-z.trycloudflare.com", "tunnel")]:
        d = decide(eng, name, prof, DAY)
        assert (d.reason, d.category) == (Reason.BYPASS, group), name
    # never the shared parents
    for name in ("icloud.com", "www.icloud.com", "www.apple.com", "cloudflare.com",
                 "www.mozilla.org", "proton.me"):
        assert decide(eng, name, prof, DAY).reason is not Reason.BYPASS, name


def test_shipped_safe_search_covers_every_google_country_domain_and_google_co() -> None:
    cat = shipped("safesearch.toml")
    google = cat.engines["google"]
    for host in ("google.co", "www.google.co", "www.google.co.uk", "www.google.co.in",
                 "www.google.com.br", "www.google.de", "www.google.com.au", "www.google.co.jp"):
        assert host in google.hosts, host
    bare = {h for h in google.hosts if not h.startswith("www.")}
    assert {f"www.{h}" for h in bare} <= google.hosts  # every domain bare and with www.
    assert len(bare) >= 190
    prof = make_profile(fixed_band=AgeBand.AGE_13_15)
    d = decide(engine(catalog=shipped("safesearch.toml", "services.toml")), "www.google.co",
               prof, DAY)
    assert (d.reason, d.target) == (Reason.SAFE_SEARCH, "forcesafesearch.google.com")
