"""Reading helpline entries: the shipped ``data/helplines.toml`` and an operator's own
``[[helplines]]`` in the configuration share these checks, so both say ``file:line key: what is
wrong`` the same way. Country codes and languages are checked against ISO 3166-1 and ISO 639
(pycountry's copy of the ISO tables).

Also here: which entries have not been checked against their source for too long (``kidshield
config check`` warns about them).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pycountry

from kidshield.errors import InputError, KidshieldError
from kidshield.policy.domains import normalize_name
from kidshield.policy.helplines import WORLDWIDE, Ages, Helpline, Kind
from kidshield.tomlpos import key_lines, line_of

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# a number as dialled: digits in groups, after an optional "+" (from abroad) or, for a short
# code a network routes itself (Israel's ELI line is *6935), a "*" or "#"
_PHONE_RE = re.compile(r"^[+*#]?[0-9]+(?:[ -][0-9]+)*$")
_NUMBER_RE = re.compile(r"^\+?[0-9]+(?:[ -][0-9]+)*$")
_AGES_RE = re.compile(r"^(\d{1,2})(?:-(\d{1,2})|\+)$")
_TAG_RE = re.compile(r"^([a-z]{2,3})(?:-([A-Z][a-z]{3}))?(?:-([A-Z]{2}|[0-9]{3}))?$")
_CHECKED_RE = re.compile(r"^\d{4}-\d{2}(?:-\d{2})?$")

# Every key an entry may have; ``id`` is what an operator's entry overrides a shipped one by.
KEYS = ("id", "country", "name", "name_en", "kind", "phone", "text", "whatsapp", "chat", "hours",
        "languages", "ages", "url", "domains", "source", "checked", "note")
REQUIRED = ("id", "country", "name")


class HelplineDataError(KidshieldError):
    """Helpline entries are invalid; ``problems`` holds one ``file:line key: message`` each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


# -- single values (also used by the configuration's validators) ---------------------------

def check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(f"{value!r} is not a valid id (lower-case letters, digits and '-', "
                         "e.g. 'gb-childline')")
    return value


def check_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code (any case in, upper case out), or "*" for worldwide."""
    if value == WORLDWIDE:
        return value
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code) or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 country code like 'GB' "
                         "(or '*' for a service that works from anywhere)")
    return code


def check_language(value: str, iso: bool = True) -> str:
    """A BCP-47 tag: an ISO 639 language, optionally a script and a region ('zh-Hans',
    'pt-BR', 'es-419'). ``iso=False`` checks the shape only: the ISO 639 table costs the
    resolver about 6 MB, so the shipped data (checked in full by its tests) skips it at run
    time."""
    match = _TAG_RE.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a language tag like 'en', 'pt-BR' or 'zh-Hans'")
    if not iso:
        return value
    lang, script, region = match.groups()
    key = "alpha_2" if len(lang) == 2 else "alpha_3"
    if pycountry.languages.get(**{key: lang}) is None:
        raise ValueError(f"{value!r}: {lang!r} is not an ISO 639 language code")
    if script is not None and pycountry.scripts.get(alpha_4=script) is None:
        raise ValueError(f"{value!r}: {script!r} is not an ISO 15924 script code")
    if region is not None and not region.isdigit() and (
            pycountry.countries.get(alpha_2=region) is None):
        raise ValueError(f"{value!r}: {region!r} is not a country code")
    return value


def check_phone(value: str) -> str:
    """A number to call or text as dialled in the country: a short code may start with "*"
    or "#" where the service publishes it so."""
    if not _PHONE_RE.match(value):
        raise ValueError(f"{value!r} is not a phone number written as digits with single "
                         "spaces or hyphens, e.g. '116 111', '031-1388' or the short code "
                         "'*6935'")
    return value


def check_whatsapp(value: str) -> str:
    """A WhatsApp number is a full phone number: no short codes."""
    if not _NUMBER_RE.match(value):
        raise ValueError(f"{value!r} is not a WhatsApp number written as digits with single "
                         "spaces or hyphens, e.g. '+27 60 012 3456'")
    return value


def parse_ages(value: str) -> Ages:
    match = _AGES_RE.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not an age range like '0-18', '13-25' or '18+'")
    low, high = int(match.group(1)), match.group(2)
    if high is not None and int(high) < low:
        raise ValueError(f"{value!r}: the range ends before it starts")
    return Ages(low, None if high is None else int(high))


def check_ages(value: str) -> str:
    parse_ages(value)
    return value


def check_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+\.[^/\s]+(?:/\S*)?$", value):
        raise ValueError(f"{value!r} is not a web address starting with https://")
    return value


def check_checked(value: str | date) -> str:
    """The date the source was read: a TOML date, or 'YYYY-MM-DD' / 'YYYY-MM' text."""
    text = value.isoformat() if isinstance(value, date) else str(value)
    if not _CHECKED_RE.match(text):
        raise ValueError(f"{text!r} is not a date like 2026-12-06 (or a month like 2026-12)")
    try:
        date.fromisoformat(text if len(text) == 10 else f"{text}-01")
    except ValueError:
        raise ValueError(f"{text!r} is not a real date") from None
    return text


def check_domain(value: str) -> str:
    try:
        name = normalize_name(value)
    except InputError as exc:
        raise ValueError(str(exc)) from None
    if "." not in name:
        raise ValueError(f"{value!r} is a top-level domain: name the helpline's own domain")
    return name


# -- whole entries ---------------------------------------------------------------------------

def _value(key: str, raw: Any, strict: bool = True) -> Any:
    """One field, checked and converted to what ``Helpline`` holds (``strict``: see
    ``check_language``)."""
    if key in ("id", "country", "name", "name_en", "kind", "phone", "text", "whatsapp", "hours",
               "ages", "url", "source", "note") and not isinstance(raw, str):
        raise ValueError(f"expected text, got {type(raw).__name__}")
    if key in ("name", "name_en", "hours", "note", "source") and not raw.strip():
        raise ValueError("must not be empty")
    if key == "id":
        return check_id(raw)
    if key == "country":
        return check_country(raw)
    if key == "kind":
        try:
            return Kind(raw)
        except ValueError:
            kinds = ", ".join(k.value for k in Kind)
            raise ValueError(f"{raw!r} is not a kind ({kinds})") from None
    if key in ("phone", "text"):
        return check_phone(raw)
    if key == "whatsapp":
        return check_whatsapp(raw)
    if key == "ages":
        return parse_ages(raw)
    if key in ("url", "source"):
        return check_url(raw)
    if key == "checked":
        if not isinstance(raw, str | date):
            raise ValueError("expected a date like 2026-12-06")
        return check_checked(raw)
    if key == "chat":
        if raw is True:
            return True  # chat on the service's own site: resolved to its url below
        if isinstance(raw, str):
            return check_url(raw)
        raise ValueError("expected true or the chat's web address")
    if key in ("languages", "domains"):
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise ValueError("expected a list of text values")
        if key == "languages":
            return tuple(check_language(v, strict) for v in raw)
        return tuple(dict.fromkeys(check_domain(v) for v in raw))
    return raw


def entry(raw: Mapping[str, Any], where: str, base: Helpline | None = None,
          line_for: Mapping[str, int] | None = None, strict: bool = True) -> Helpline:
    """A ``Helpline`` from one TOML table. ``base``: the shipped entry an operator's entry with
    the same id overrides (keys not given keep the shipped values). Raises HelplineDataError
    naming each bad key; ``line_for`` gives the line of each key."""
    problems: list[str] = []
    values: dict[str, Any] = {}

    def problem(key: str, message: str) -> None:
        line = (line_for or {}).get(key)
        at = f"{where.rsplit(':', 1)[0]}:{line}" if line and ":" in where else where
        problems.append(f"{at} {key}: {message}")

    for key, raw_value in raw.items():
        if key not in KEYS:
            problem(key, f"unknown key (valid keys: {', '.join(KEYS)})")
            continue
        try:
            values[key] = _value(key, raw_value, strict)
        except ValueError as exc:
            problem(key, str(exc))
    if base is None:
        for key in REQUIRED:
            if key not in raw:
                problem(key, "this key is required")
    if problems:
        raise HelplineDataError(problems)
    if values.get("chat") is True:
        values["chat"] = values.get("url") or (base.url if base else None)
    if base is not None:
        return replace(base, **values, where=where)
    return Helpline(**values, where=where)


def read_file(path: Path, strict: bool = False) -> list[Helpline]:
    """Every ``[[helpline]]`` of a data file, checked; all problems are raised together.
    ``strict``: language tags are checked against ISO 639 too (the data tests do; the
    resolver does not, see ``check_language``)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KidshieldError(f"{path}: shipped data file is broken: {exc}") from exc
    lines = key_lines(text)
    out: list[Helpline] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(data.get("helpline", [])):
        where = f"{path}:{line_of(lines, ('helpline', i)) or 0}"
        keys = {k: line_of(lines, ("helpline", i, k)) or 0 for k in raw}
        try:
            line = entry(raw, where, line_for=keys, strict=strict)
        except HelplineDataError as exc:
            problems.extend(exc.problems)
            continue
        if line.id in seen:
            problems.append(f"{where} id: {line.id!r} is already used at {seen[line.id]}")
        seen.setdefault(line.id, where)
        out.append(line)
    unknown = sorted(set(data) - {"helpline"})
    if unknown:
        problems.append(f"{path}: unknown table(s) {', '.join(unknown)} (expected [[helpline]])")
    if problems:
        raise HelplineDataError(problems)
    return out


def merge(shipped: Iterable[Helpline], own: Iterable[Helpline]) -> list[Helpline]:
    """The shipped entries with the operator's: an entry with a shipped id replaces it in
    place, a new id is added after the shipped entries."""
    mine = {line.id: line for line in own}
    out = [mine.pop(line.id, line) for line in shipped]
    return out + list(mine.values())


# -- freshness -------------------------------------------------------------------------------

def months_between(earlier: date, later: date) -> int:
    """Whole months from ``earlier`` to ``later``."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - (1 if later.day < earlier.day else 0)


def stale(lines: Iterable[Helpline], today: date, max_months: int,
          country: str = "", own: Collection[str] = ()) -> list[str]:
    """Warnings for entries last checked more than ``max_months`` ago (or never). The
    deployment's own country, worldwide services and the operator's own entries are named one
    by one (``own``: the ids the operator wrote); other countries' entries are summed up in
    one line."""
    if max_months <= 0:
        return []
    near: list[str] = []
    far: list[Helpline] = []
    for line in lines:
        checked = line.checked_on
        if checked is not None and months_between(checked, today) <= max_months:
            continue
        if line.country in (country.upper(), WORLDWIDE) or line.id in own:
            source = line.source or "its source"
            if checked is None:
                near.append(f"{line.where} helpline {line.id!r} ({line.name}) has no 'checked' "
                            f"date: confirm it against {source} and add the date")
            else:
                near.append(f"{line.where} helpline {line.id!r} ({line.name}) was last checked "
                            f"{line.checked}, more than {max_months} months ago: confirm it "
                            f"against {source} and update 'checked'")
        else:
            far.append(line)
    if far:
        oldest = min((line.checked_on or date.min, line.checked) for line in far)[1] or "never"
        near.append(f"{len(far)} shipped helpline entries for other countries were last checked "
                    f"more than {max_months} months ago (oldest: {oldest}); a newer kidshield "
                    "may have fresher data")
    return near
