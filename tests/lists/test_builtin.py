"""The category lists shipped in the package: well formed, covering every category a band
blocks, never catching an ordinary site, and wired in (or out) by configuration."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kidshield.config import parse_config
from kidshield.errors import ConfigError
from kidshield.lists.builtin import BUILTIN_DIR, builtin_categories, builtin_lists
from kidshield.lists.formats import Chunk, parse_file
from kidshield.lists.loader import REPORTED_CATEGORY, load_lists
from kidshield.policy.ages import BAND_DEFAULTS, AgeBand
from kidshield.policy.domains import normalize_name
from kidshield.policy.model import Query
from kidshield.policy.reason import Reason
from kidshield.policy.state import EMPTY_STATE
from kidshield.runtime import PolicyRuntime

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
MAINSTREAM = sorted({
    line.strip() for line in (Path(__file__).parent / "mainstream.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
})
FILES = sorted(BUILTIN_DIR.glob("*.txt"))


def names_in(path: Path) -> list[str]:
    names: list[str] = []

    def sink(chunk: Chunk) -> None:
        names.extend(chunk.domains)

    report = parse_file(path, "domains", sink)
    assert report.errors == 0, report.samples
    return names


def band_config(builtin: bool = True, extra: str = "") -> str:
    profiles = "".join(f'[profiles.p{i}]\nage_band = "{band.value}"\n\n'
                       for i, band in enumerate(AgeBand))
    return f"[server]\nbuiltin_lists = {str(builtin).lower()}\n\n{extra}\n{profiles}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_builtin_file_is_well_formed_with_a_licence_header_and_no_duplicates(
    path: Path,
) -> None:
    text = path.read_text(encoding="utf-8")
    header = text.split("\n\n", 1)[0]
    assert f"category: {path.stem}" in header
    assert "Licence:" in header and "Sources:" in header
    names = names_in(path)
    assert len(names) >= 5
    twice = [n for n, c in Counter(names).items() if c > 1]
    assert twice == []
    for name in names:
        assert normalize_name(name) == name
        assert "." in name and not name.startswith("www."), name


def test_no_name_is_in_two_builtin_categories() -> None:
    owner: dict[str, str] = {}
    clashes = []
    for path in FILES:
        for name in names_in(path):
            if name in owner:
                clashes.append((name, owner[name], path.stem))
            owner[name] = path.stem
    assert clashes == []


def test_builtin_lists_provide_every_category_every_band_blocks() -> None:
    provided = builtin_categories() | {REPORTED_CATEGORY}
    for band, defaults in BAND_DEFAULTS.items():
        assert defaults.categories - provided == set(), band


def test_the_well_known_names_of_each_harmful_category_are_there() -> None:
    config = parse_config(band_config())
    index = load_lists(config).lists
    expect = {
        "adult": ["pornhub.com", "www.xvideos.com", "xnxx.com", "xhamster.com", "chaturbate.com"],
        "gambling": ["bet365.com", "pokerstars.com", "www.williamhill.com", "stake.com",
                     "draftkings.com", "csgoempire.com"],
        "dating": ["tinder.com", "bumble.com", "www.match.com"],
        "self_harm": ["sanctioned-suicide.net"],
        "phishing": ["grabify.link", "iplogger.org"],
        "malware": ["mspy.com", "coinhive.com"],
    }
    for category, names in expect.items():
        for name in names:
            hits = index.index.lookup(name)
            assert [index.categories[h.category] for h in hits] == [category], name


def test_no_ordinary_site_is_in_any_builtin_list() -> None:
    lists = load_lists(parse_config(band_config())).lists
    caught = {name: [lists.categories[h.category] for h in lists.index.lookup(name)]
              for name in MAINSTREAM}
    assert {n: c for n, c in caught.items() if c} == {}


@pytest.mark.parametrize("band", list(AgeBand), ids=lambda b: b.value)
def test_no_ordinary_site_is_blocked_by_category_for_any_band(band: AgeBand) -> None:
    runtime = PolicyRuntime.build(parse_config(band_config()))
    profile = runtime.profile(f"p{list(AgeBand).index(band)}")
    blocked = []
    for name in MAINSTREAM:
        decision = runtime.engine.decide(Query(name), profile, NOW, EMPTY_STATE)
        if decision.reason is Reason.CATEGORY:
            blocked.append((name, decision.category))
    assert blocked == []


def test_a_9_12_profile_blocks_adult_and_gambling_with_only_the_builtin_lists() -> None:
    runtime = PolicyRuntime.build(parse_config(band_config()))
    kid = runtime.profile("p1")
    for name, category in [("www.pornhub.com", "adult"), ("bet365.com", "gambling")]:
        decision = runtime.engine.decide(Query(name), kid, NOW, EMPTY_STATE)
        assert (decision.reason, decision.category) == (Reason.CATEGORY, category)
        assert decision.source is not None and decision.source.list_name == f"builtin-{category}"
        assert decision.source.line is not None and decision.source.line > 1


def test_builtin_lists_false_leaves_them_out_and_user_lists_add_to_them(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("casino.example\n", encoding="utf-8")
    mine = '[[lists]]\nname = "mine"\nsource = "mine.txt"\ncategory = "gambling"\n'
    with_builtin = parse_config(band_config(extra=mine), base_dir=tmp_path)
    assert [lst.name for lst in builtin_lists(with_builtin)][:2] == ["builtin-adult",
                                                                    "builtin-chat"]
    runtime = PolicyRuntime.build(with_builtin)
    kid = runtime.profile("p1")
    for name in ("casino.example", "bet365.com"):
        assert runtime.engine.decide(Query(name), kid, NOW, EMPTY_STATE).reason is Reason.CATEGORY

    without = PolicyRuntime.build(parse_config(band_config(False, mine), base_dir=tmp_path))
    kid = without.profile("p1")
    assert without.engine.decide(Query("casino.example"), kid, NOW,
                                 EMPTY_STATE).reason is Reason.CATEGORY
    assert without.engine.decide(Query("bet365.com"), kid, NOW,
                                 EMPTY_STATE).reason is Reason.ALLOWED


def test_a_user_list_may_not_take_a_builtin_name() -> None:
    text = '[[lists]]\nname = "builtin-adult"\nsource = "x.txt"\ncategory = "adult"\n'
    with pytest.raises(ConfigError) as exc:
        parse_config(text, source="k.toml")
    assert "k.toml:2 lists[0].name: 'builtin-adult': names starting with 'builtin-'" in str(
        exc.value.problems)


def test_category_gaps_name_each_blocked_category_without_a_list() -> None:
    runtime = PolicyRuntime.build(parse_config(band_config(False)))
    gaps = {g.category: g.profiles for g in runtime.category_gaps(NOW)}
    assert gaps["adult"] == ("p0", "p1", "p2", "p3")  # the adult band does not block it
    assert gaps["cults"] == ("p0", "p1")
    assert gaps["malware"] == ("p0", "p1", "p2", "p3", "p4", "default")
    assert REPORTED_CATEGORY not in gaps  # filled by report decisions, rightly empty at first
    assert PolicyRuntime.build(parse_config(band_config())).category_gaps(NOW) == []


def test_category_gaps_follow_a_profiles_own_changes() -> None:
    text = ('[server]\ndefault_profile = "kid"\n[profiles.kid]\nage_band = "9-12"\n'
            'unblocked_categories = ["cults"]\nextra_blocked_categories = ["gaming"]\n')
    gaps = {g.category: g.profiles for g in PolicyRuntime.build(
        parse_config(text)).category_gaps(NOW)}
    assert gaps == {"gaming": ("kid",)}
