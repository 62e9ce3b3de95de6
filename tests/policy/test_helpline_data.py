"""The shipped helpline data: every entry well-formed, every country code real, every exempt
domain reachable through every profile and list, and the corrections of issue 20 in place."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pycountry
import pytest

from kidshield.config import parse_config
from kidshield.errors import KidshieldError
from kidshield.policy.catalog import DATA_DIR, default_catalog, load_catalog
from kidshield.policy.domains import suffixes
from kidshield.policy.helpline_data import HelplineDataError, months_between, read_file, stale
from kidshield.policy.helplines import WORLDWIDE, Helpline, Kind
from kidshield.policy.model import Query
from kidshield.policy.reason import Reason
from kidshield.policy.state import EMPTY_STATE
from kidshield.runtime import PolicyRuntime

LINES = default_catalog().helplines
# second-level labels under which a two-label name is a registry, not a helpline's own domain
_REGISTRY_LABELS = {"gov", "go", "gob", "gouv", "govt", "co", "com", "org", "or", "net", "ne",
                    "edu", "ac", "info", "nic", "mil"}


def by_id(helpline_id: str) -> Helpline:
    return next(h for h in LINES if h.id == helpline_id)


def test_shipped_file_reads_without_problems_and_ids_are_unique() -> None:
    # raises HelplineDataError on any problem; strict: language tags against ISO 639 too
    lines = read_file(DATA_DIR / "helplines.toml", strict=True)
    assert len(lines) >= 125
    assert len({h.id for h in lines}) == len(lines)


@pytest.mark.parametrize("line", LINES, ids=lambda h: h.id)
def test_every_entry_is_well_formed(line: Helpline) -> None:
    assert line.country == WORLDWIDE or pycountry.countries.get(alpha_2=line.country), line
    prefix = "world" if line.worldwide else line.country.lower()
    assert line.id.startswith(f"{prefix}-")
    assert line.name.strip() and line.source.startswith(("https://", "http://"))
    assert line.phone or line.url, "an entry needs a number or a site"
    assert line.checked_on is not None and line.checked_on <= datetime.now(UTC).date()
    assert line.languages, "say which languages the service answers in"
    if not line.phone and line.kind in (Kind.CHILD, Kind.CRISIS) and not line.worldwide:
        assert line.note, "say why the number is missing (not confirmed, online only, ...)"
    if line.url:
        host = urlsplit(line.url).hostname or ""
        assert any(s in line.domains for s in suffixes(host)), (
            f"{line.url} is not covered by the exempt domains {line.domains}")
    for domain in line.domains:
        labels = domain.split(".")
        assert len(labels) >= 2
        assert not (len(labels) == 2 and labels[0] in _REGISTRY_LABELS), (
            f"{domain} would exempt a whole registry")


def test_every_country_with_entries_has_a_service_for_children_or_says_why_not() -> None:
    countries = {h.country for h in LINES if not h.worldwide}
    served = {h.country for h in LINES if h.kind in (Kind.CHILD, Kind.GENERAL)}
    explained = {h.country for h in LINES if "no child helpline" in h.note.lower()}
    assert countries - served - explained == set()


def test_the_countries_issue_20_named_have_a_child_helpline() -> None:
    # Venezuela and Ecuador have crisis lines only (see docs/helplines.md, Coverage).
    # Add them here when a child or general line is confirmed.
    named = {"CN", "PK", "BD", "RU", "VN", "IR", "EG", "CD", "TZ", "DZ", "MA", "GH", "SD",
             "GT", "ET"}
    served = {h.country for h in LINES if h.kind in (Kind.CHILD, Kind.GENERAL)}
    assert named - served == set()


def test_the_gaps_the_first_pass_reported_have_a_child_or_general_line() -> None:
    gaps = {"AF", "AO", "MG", "TD", "SO", "SS", "BI", "GN", "HT", "HN", "BW", "MK"}
    served = {h.country for h in LINES if h.kind in (Kind.CHILD, Kind.GENERAL)}
    assert gaps - served == set()


def test_no_entry_is_carried_over_unchecked() -> None:
    # The December 2026 follow-up read a source for every entry; a month-only date means an
    # entry nobody re-read.
    assert all(len(str(h.checked)) == len("2026-12-06") for h in LINES)


def test_corrections_from_issue_20() -> None:
    latvia = [h for h in LINES if h.country == "LV" and h.kind is Kind.CHILD]
    assert latvia and all("bac.gov.lv" in h.domains for h in latvia)
    assert all("bti.gov.lv" not in h.domains for h in LINES)
    chile = [h for h in LINES if h.country == "CL"]
    assert any(h.phone == "1515" and h.kind is Kind.CHILD for h in chile)
    assert all(h.kind is not Kind.CHILD for h in chile if h.phone == "800 200 818")
    india = [h for h in LINES if h.country == "IN" and h.phone == "1098"]
    assert india and all("childlineindia.org" not in h.domains for h in india)
    korea = [h for h in LINES if h.country == "KR" and h.kind is Kind.CHILD]
    assert any("1388.go.kr" in h.domains for h in korea)
    assert all("area code" in h.note for h in korea if h.phone and h.phone.endswith("1388"))
    sadag = [h for h in LINES if h.country == "ZA" and h.kind is Kind.CRISIS]
    assert any(h.phone == "0800 456 789" for h in sadag)
    assert all(h.phone != "0800 567 567" for h in sadag)
    assert any("116111.bg" in h.domains for h in LINES if h.country == "BG")
    assert any(h.kind is Kind.CRISIS and h.phone == "113" for h in LINES if h.country == "NL")
    for country in ("MX", "PE"):
        assert all(h.kind is not Kind.CHILD for h in LINES
                   if h.country == country and h.name.startswith(("Línea de la Vida",
                                                                  "Línea 100")))


def test_every_exempt_domain_is_reachable_through_every_profile_and_list(tmp_path: Path) -> None:
    domains = sorted({d for h in LINES for d in h.domains})
    everything = sorted({s for d in domains for s in suffixes(d)})  # the names and their TLDs
    (tmp_path / "all.txt").write_text("\n".join(everything) + "\n", encoding="utf-8")
    profiles = "\n".join(
        f"""[profiles.p{i}]
age_band = "{band}"
keep_filtering_after_18 = true
bedtime = "00:00"
wake_up = "23:59"
extra_blocked_categories = ["everything"]
extra_blocked_services = ["tiktok", "youtube", "discord"]
deny = {domains!r}
schedules = [{{ from = "00:00", to = "23:59", action = "block" }}]
""".replace("'", '"')
        for i, band in enumerate(("under-9", "9-12", "13-15", "16-17", "adult")))
    config = parse_config(
        f'[[lists]]\nname = "all"\nsource = "all.txt"\ncategory = "everything"\n\n{profiles}',
        "k.toml", tmp_path)
    runtime = PolicyRuntime.build(config)
    assert runtime.loaded.reports["all"].rules == len(everything)  # beside the built-in lists
    now = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)  # inside every bedtime and schedule
    failures = []
    for profile in runtime.profiles.values():
        assert runtime.engine.decide(Query("example.com"), profile, now, EMPTY_STATE).blocked
        for domain in domains:
            for name in (domain, f"www.{domain}"):
                decision = runtime.engine.decide(Query(name), profile, now, EMPTY_STATE)
                if decision.reason is not Reason.HELPLINE:
                    failures.append((profile.id, name, decision.reason))
    assert failures == []


def test_a_broken_entry_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "helplines.toml").write_text(
        '# header\n\n[[helpline]]\nid = "gb-ok"\ncountry = "GB"\nname = "OK"\n\n'
        '[[helpline]]\nid = "xx-bad"\ncountry = "XX"\nname = "Bad"\nphone = "call 123"\n'
        'ages = "18-9"\nlanguages = ["english"]\n', encoding="utf-8")
    with pytest.raises(HelplineDataError) as caught:
        read_file(tmp_path / "helplines.toml", strict=True)
    path = tmp_path / "helplines.toml"
    assert caught.value.problems == [
        f"{path}:10 country: 'XX' is not an ISO 3166-1 country code like 'GB' (or '*' for a "
        "service that works from anywhere)",
        f"{path}:12 phone: 'call 123' is not a phone number written as digits with single "
        "spaces or hyphens, e.g. '116 111', '031-1388' or the short code '*6935'",
        f"{path}:13 ages: '18-9': the range ends before it starts",
        f"{path}:14 languages: 'english' is not a language tag like 'en', 'pt-BR' or 'zh-Hans'",
    ]
    assert isinstance(caught.value, KidshieldError)
    with pytest.raises(HelplineDataError):  # the catalog the resolver loads checks it too
        load_catalog(tmp_path)


def test_short_codes_with_a_leading_star_or_hash_are_numbers(tmp_path: Path) -> None:
    # Israel's ELI line is published as *6935 (Maariv); a "#" short code must survive as a link
    eli = by_id("il-eli")
    assert eli.phone == "*6935" and eli.tel == "tel:*6935" and eli.kind is Kind.GENERAL
    path = tmp_path / "helplines.toml"
    path.write_text('[[helpline]]\nid = "xx-short"\ncountry = "IL"\nname = "Short"\n'
                    'phone = "*6935"\ntext = "#12 34"\nlanguages = ["he"]\n', encoding="utf-8")
    (line,) = read_file(path, strict=True)
    assert (line.phone, line.text) == ("*6935", "#12 34")
    assert (line.tel, line.sms) == ("tel:*6935", "sms:%231234")


@pytest.mark.parametrize(("key", "value"), [
    ("phone", "6935*"), ("phone", "**6935"), ("phone", "*#6935"), ("phone", "* 6935"),
    ("phone", "+*6935"), ("text", "#"), ("whatsapp", "*6935"), ("whatsapp", "#123"),
])
def test_stars_and_hashes_elsewhere_are_still_errors(tmp_path: Path, key: str, value: str) -> None:
    path = tmp_path / "helplines.toml"
    path.write_text(f'[[helpline]]\nid = "il-x"\ncountry = "IL"\nname = "X"\n{key} = "{value}"\n',
                    encoding="utf-8")
    with pytest.raises(HelplineDataError, match=re.escape(f":5 {key}: '{value}' is not a")):
        read_file(path)


def test_strict_reading_checks_languages_against_iso_639(tmp_path: Path) -> None:
    path = tmp_path / "helplines.toml"
    path.write_text('[[helpline]]\nid = "gb-a"\ncountry = "GB"\nname = "A"\n'
                    'languages = ["qq"]\n', encoding="utf-8")
    assert read_file(path)[0].languages == ("qq",)  # the shape is right
    with pytest.raises(HelplineDataError, match=r":5 languages: 'qq': 'qq' is not an ISO 639"):
        read_file(path, strict=True)


def test_missing_keys_and_duplicate_ids_are_reported(tmp_path: Path) -> None:
    (tmp_path / "helplines.toml").write_text(
        '[[helpline]]\nid = "gb-a"\ncountry = "GB"\nname = "A"\n\n'
        '[[helpline]]\nid = "gb-a"\ncountry = "GB"\nname = "A again"\ncolour = "red"\n\n'
        '[[helpline]]\nname = "No id"\n', encoding="utf-8")
    with pytest.raises(HelplineDataError) as caught:
        load_catalog(tmp_path)
    text = "\n".join(caught.value.problems)
    assert ":10 colour: unknown key" in text
    assert ":12 id: this key is required" in text and ":12 country: this key is required" in text


def test_months_between_and_stale_warnings() -> None:
    assert months_between(date(2025, 12, 6), date(2026, 12, 6)) == 12
    assert months_between(date(2025, 12, 7), date(2026, 12, 6)) == 11
    lines = [
        Helpline("GB", "Old", id="gb-old", checked="2024-01", source="https://old.example",
                 where="helplines.toml:10"),
        Helpline("GB", "Fresh", id="gb-fresh", checked="2026-11-01"),
        Helpline("FR", "Far", id="fr-far", checked="2023-05"),
        Helpline("DE", "Far too", id="de-far", checked="2024-02"),
        Helpline("GB", "Mine", id="gb-mine", where="k.toml:40"),
    ]
    today = date(2026, 12, 6)
    warnings = stale(lines, today, 12, "GB", own={"gb-mine"})
    assert warnings == [
        "helplines.toml:10 helpline 'gb-old' (Old) was last checked 2024-01, more than 12 "
        "months ago: confirm it against https://old.example and update 'checked'",
        "k.toml:40 helpline 'gb-mine' (Mine) has no 'checked' date: confirm it against its "
        "source and add the date",
        "2 shipped helpline entries for other countries were last checked more than 12 months "
        "ago (oldest: 2023-05); a newer kidshield may have fresher data",
    ]
    assert stale(lines, today, 0, "GB") == []
    assert stale(lines, today, 48, "GB", own={"gb-mine"}) == [warnings[1]]
