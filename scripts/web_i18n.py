#!/usr/bin/env python3
"""Extract the web app's translatable strings with Babel and check the catalogs.

    python scripts/web_i18n.py            # write kidshield/web/locale/{children,kidshield}.pot
    python scripts/web_i18n.py --check    # exit 1 when a catalog misses a string or a .pot is stale
    python scripts/web_i18n.py --merge    # add new strings to every catalog (untranslated;
                                          # English gets the source text), mark old ones
                                          # obsolete (#~); every other entry is left as it
                                          # is, byte for byte

Strings are found in Python as _("..."), N_("..."), t("...") and t.ngettext("...", "...", n)
calls, and in templates as _("...") and ngettext("...", "...", n). Each goes to one catalog:
``children`` when a child-facing file uses it (CHILD_SOURCES), else ``kidshield`` (the
dashboard). Pages for adults outside the dashboard (self-assessment, lesson progress, staff
pages) are English only and not extracted.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "kidshield" / "web"
LOCALE = WEB / "locale"
KEYWORDS = {"_": None, "N_": None, "t": None, "gettext": None, "ngettext": (1, 2)}
CHILD_SOURCES = (
    "kidshield/web/templates/child/*.html",
    "kidshield/web/texts.py",
    "kidshield/web/accounts.py",  # PIN errors a child sees beside a parent
    "kidshield/web/actions.py",  # "you have asked many times"
    "kidshield/education/labels.py",
    "kidshield/education/tabletop.py",  # the words around a scenario in the terminal
    "kidshield/education/web.py",
    "kidshield/education/templates/base.html",
    "kidshield/education/templates/learn_index.html",
    "kidshield/education/templates/lesson.html",
    "kidshield/education/templates/workshop.html",
    "kidshield/education/templates/workshop_index.html",
    "kidshield/reports/web.py",  # the child's report form: what it is about
    "kidshield/reports/child_status.py",  # the child's status page: state and decision
    "kidshield/reports/templates/intake.html",  # the child's version of each text
    "kidshield/reports/templates/status.html",
    "kidshield/reports/templates/refused.html",
)
PARENT_SOURCES = ("kidshield/web/**/*.py", "kidshield/web/templates/*.html")
DOMAINS = ("children", "kidshield")
Msgid = str | tuple[str, str]


def _files(patterns: tuple[str, ...]) -> list[Path]:
    return sorted({p for pattern in patterns for p in ROOT.glob(pattern)})


def _messages(path: Path) -> Iterator[tuple[Msgid, int]]:
    method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
    options = {"trim_blocks": "True", "lstrip_blocks": "True"} if path.suffix != ".py" else {}
    for lineno, message, _comments, _context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options, strip_comment_tags=True):
        if isinstance(message, tuple):
            if len(message) >= 2 and message[0] and message[1]:
                yield (str(message[0]), str(message[1])), lineno
        elif message:
            yield str(message), lineno


def extract() -> dict[str, dict[Msgid, str]]:
    """domain -> msgid (a string, or (singular, plural)) -> first place it is used."""
    child_files = _files(CHILD_SOURCES)
    out: dict[str, dict[Msgid, str]] = {d: {} for d in DOMAINS}
    for path in child_files:
        for msgid, line in _messages(path):
            out["children"].setdefault(msgid, f"{path.relative_to(ROOT)}:{line}")
    for path in _files(PARENT_SOURCES):
        if path in child_files:
            continue
        for msgid, line in _messages(path):
            if msgid not in out["children"]:
                out["kidshield"].setdefault(msgid, f"{path.relative_to(ROOT)}:{line}")
    return out


def _catalog(domain: str, lang: str | None, found: dict[Msgid, str],
             created: datetime | None = None) -> Catalog:
    what = "what children read" if domain == "children" else "the parents' dashboard"
    catalog = Catalog(
        locale=lang, domain=domain, project="kidshield", version="0.1", charset="utf-8",
        fuzzy=False, copyright_holder="kidshield contributors", msgid_bugs_address="",
        creation_date=created,
        last_translator="kidshield contributors", language_team=f"kidshield ({lang or 'en'})",
        header_comment=(f"# kidshield: {what} ({lang or 'template'}).\n"
                        "# Apache-2.0, written by kidshield contributors. Who wrote each "
                        "language, and how to\n# review or correct it: docs/web.md#languages"))
    for msgid, where in found.items():
        path, _, line = where.rpartition(":")
        catalog.add(msgid, locations=[(path, int(line))])
    return catalog


def write_pot(found: dict[str, dict[Msgid, str]], locale: Path = LOCALE) -> list[Path]:
    """Write each domain's template. Its creation date stays as it was while the set of
    msgids is unchanged (a line moving in a source is no new template), so running this on
    an unchanged tree leaves the files byte for byte. The templates changed."""
    changed = []
    for domain in DOMAINS:
        path = locale / f"{domain}.pot"
        created = None
        old = path.read_bytes() if path.is_file() else b""
        if old:
            before = read_po(io.BytesIO(old))
            if ({_key(m) for m in before if m.id} == set(found[domain])
                    and isinstance(before.creation_date, datetime)):
                created = before.creation_date
        out = io.BytesIO()
        write_po(out, _catalog(domain, None, found[domain], created), width=100,
                 omit_header=False)
        if out.getvalue() != old:
            path.write_bytes(out.getvalue())
            changed.append(path)
    return changed


def _read(path: Path, lang: str) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=lang, domain=path.stem)


def _complete(message: object) -> bool:
    string = getattr(message, "string", "")
    if getattr(message, "fuzzy", False):
        return False
    if isinstance(string, tuple):
        return all(string)
    return bool(string)


def missing(lang: str, domain: str = "children",
            found: dict[str, dict[Msgid, str]] | None = None) -> list[Msgid]:
    """The msgids a catalog lacks (or leaves untranslated, or fuzzy)."""
    path = LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"
    have = _read(path, lang)
    wanted = (found or extract())[domain]
    return [m for m in wanted if have.get(m) is None or not _complete(have.get(m))]


def stale_templates(found: dict[str, dict[Msgid, str]] | None = None) -> list[str]:
    """The template files (.pot) whose msgids differ from what the sources use now: a
    translator starting a new language copies the template, so it must not lag."""
    wanted = found or extract()
    out = []
    for domain in DOMAINS:
        path = LOCALE / f"{domain}.pot"
        have = {m.id if isinstance(m.id, str) else tuple(m.id)
                for m in _read(path, "en") if m.id} if path.is_file() else set()
        if have != set(wanted[domain]):
            out.append(f"{path.relative_to(ROOT)}: {len(set(wanted[domain]) - have)} strings "
                       f"missing, {len(have - set(wanted[domain]))} no longer used "
                       "(run python scripts/web_i18n.py)")
    return out


def _languages(domain: str) -> list[str]:
    return sorted(p.parent.parent.name for p in LOCALE.glob(f"*/LC_MESSAGES/{domain}.po"))


def _key(message: Message) -> Msgid:
    return message.id if isinstance(message.id, str) else (message.id[0], message.id[1])


def _entry(block: str, lang: str) -> tuple[Msgid | None, bool]:
    """The msgid of one entry as written in a .po file (None for the header or a comment
    block), and whether the entry is obsolete (``#~``)."""
    catalog = read_po(io.StringIO(block), locale=lang)
    for message in catalog:
        if message.id:
            return _key(message), False
    for message in catalog.obsolete.values():
        if message.id:
            return _key(message), True
    return None, False


def _obsolete(block: str) -> str:
    """``block`` marked obsolete as msgmerge marks it: its translator comments kept, its
    source references dropped, the rest behind ``#~``."""
    lines = [line for line in block.split("\n") if not line.startswith(("#:", "#|"))]
    return "\n".join(line if line.startswith("#") else f"#~ {line}" for line in lines)


def _new_entries(domain: str, lang: str, found: dict[Msgid, str],
                 strings: dict[Msgid, object]) -> str:
    """New entries, written by Babel as a whole catalog of them would be (no header)."""
    catalog = _catalog(domain, lang, found)
    for m in catalog:
        if m.id:
            key = _key(m)
            if lang == "en":
                m.string = m.id
            elif key in strings:
                m.string = strings[key]  # type: ignore[assignment]
    out = io.BytesIO()
    write_po(out, catalog, width=100, omit_header=True)
    return out.getvalue().decode("utf-8").strip("\n")


def merge_text(text: str, domain: str, lang: str, wanted: dict[Msgid, str],
               strings: dict[Msgid, object]) -> str:
    """``text`` (a .po file) with the entries of msgids in ``wanted`` it lacks added after its
    last entry in use, and entries of msgids no longer wanted marked obsolete; every other
    entry, comment and blank line is left as it is, byte for byte. ``strings``: translations
    known for msgids (from this language's other catalog, or obsolete entries)."""
    parts = re.split(r"(\n(?:[ \t]*\n)+)", text)  # entries at even indexes, blank lines between
    have: set[Msgid] = set()
    last_used = 0
    drop: set[int] = set()
    for i in range(0, len(parts), 2):
        msgid, obsolete = _entry(parts[i], lang)
        if msgid is None:
            continue
        if obsolete:
            if msgid in wanted:
                drop.add(i)  # used again: comes back as a new entry, with its translation
            continue
        if msgid in wanted:
            have.add(msgid)
        else:
            parts[i] = _obsolete(parts[i])
        last_used = i
    added = {m: where for m, where in wanted.items() if m not in have}
    if added:
        # after the entry's text, before the line ends it had (the file's last newline)
        entry = parts[last_used]
        body = entry.rstrip("\n")
        parts[last_used] = (body + "\n\n" + _new_entries(domain, lang, added, strings)
                            + entry[len(body):])
    for i in sorted(drop, reverse=True):
        del parts[i - 1:i + 1]  # the entry and the blank lines before it
    return "".join(parts)


def merge(found: dict[str, dict[Msgid, str]], locale: Path = LOCALE) -> list[Path]:
    """Bring every catalog under ``locale`` up to the current msgids: new ones added
    (untranslated, or with the translation the language's other catalog or an obsolete entry
    has: a string that moved keeps it; English gets the source text), ones no longer used
    marked obsolete. Entries that did not change stay byte for byte, so a translator's diff
    shows only what is new; a catalog with nothing to add or retire is not written. The
    catalogs changed."""
    changed = []
    for lang in sorted(p.name for p in locale.iterdir() if p.is_dir()):
        strings: dict[Msgid, object] = {}
        for domain in DOMAINS:
            path = locale / lang / "LC_MESSAGES" / f"{domain}.po"
            if path.is_file():
                catalog = _read(path, lang)
                for m in [*catalog, *catalog.obsolete.values()]:
                    if m.id and _complete(m):
                        strings.setdefault(_key(m), m.string)
        for domain in DOMAINS:
            path = locale / lang / "LC_MESSAGES" / f"{domain}.po"
            if not path.is_file():
                if domain == "kidshield":
                    continue  # a language without the dashboard
                header = io.BytesIO()
                write_po(header, _catalog(domain, lang, {}), width=100)
                old = ""
                text = header.getvalue().decode("utf-8")
            else:
                old = text = path.read_text(encoding="utf-8")
            text = merge_text(text, domain, lang, found[domain], strings)
            if text != old:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8", newline="")
                changed.append(path)
    return changed


def main() -> int:
    found = extract()
    if "--merge" in sys.argv:
        for path in merge(found):
            print(f"updated {path.relative_to(ROOT)}")
        return 0
    if "--check" in sys.argv:
        bad = 0
        for line in stale_templates(found):
            print(line)
            bad += 1
        for domain in DOMAINS:
            for lang in _languages(domain):
                for gap in missing(lang, domain, found):
                    print(f"{lang}/{domain}: missing {gap!r} ({found[domain][gap]})")
                    bad += 1
        return 1 if bad else 0
    for path in write_pot(found):
        print(f"updated {path.relative_to(ROOT)}")
    print(", ".join(f"{len(found[d])} {d} strings" for d in DOMAINS), f"-> {LOCALE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
