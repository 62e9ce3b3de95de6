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
