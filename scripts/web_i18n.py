#!/usr/bin/env python3
"""Extract the web app's translatable strings and check the catalogs.

    python scripts/web_i18n.py            # write kidshield/web/locale/kidshield.pot
    python scripts/web_i18n.py --check    # exit 1 when a catalog misses a string
    python scripts/web_i18n.py --merge    # add new strings to every catalog (untranslated;
                                          # English gets the source text)

Strings are found in Python as _("..."), N_("...") and t("...") calls, and in templates as
_("...") / _('...').
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "kidshield" / "web"
LOCALE = WEB / "locale"
_TEMPLATE = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def extract(web: Path = WEB) -> dict[str, str]:
    """msgid -> first place it is used."""
    found: dict[str, str] = {}
    for path in sorted(web.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "N_", "t") and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                found.setdefault(node.args[0].value,
                                 f"{path.relative_to(web.parent.parent)}:{node.lineno}")
    for path in sorted((web / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for match in _TEMPLATE.finditer(text):
            raw = match.group(1) if match.group(1) is not None else match.group(2)
            msgid = raw.encode().decode("unicode_escape") if "\\" in raw else raw
            line = text.count("\n", 0, match.start()) + 1
            found.setdefault(msgid, f"{path.relative_to(web.parent.parent)}:{line}")
    return found


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_pot(found: dict[str, str], target: Path) -> None:
    out = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for msgid, where in found.items():
        out += [f"#: {where}", f"msgid {_quote(msgid)}", 'msgstr ""', ""]
    target.write_text("\n".join(out), encoding="utf-8")


def missing(lang: str, found: dict[str, str] | None = None) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from kidshield.web.i18n import parse_po

    path = LOCALE / lang / "LC_MESSAGES" / "kidshield.po"
    have = parse_po(path.read_text(encoding="utf-8"))
    return [m for m in (found or extract()) if m not in have]


def merge(found: dict[str, str], extra: dict[str, dict[str, str]] | None = None) -> None:
    """Rewrite each catalog in extraction order, keeping its translations (and ``extra``)."""
    sys.path.insert(0, str(ROOT))
    from kidshield.web.i18n import parse_po

    for folder in sorted(p for p in LOCALE.iterdir() if p.is_dir()):
        path = folder / "LC_MESSAGES" / "kidshield.po"
        text = path.read_text(encoding="utf-8")
        have = {**parse_po(text), **(extra or {}).get(folder.name, {})}
        header = text.split("\n\n", 1)[0]
        out = [header, ""]
        for msgid, where in found.items():
            value = msgid if folder.name == "en" else have.get(msgid, "")
            out += [f"#: {where}", f"msgid {_quote(msgid)}", f"msgstr {_quote(value)}", ""]
        path.write_text("\n".join(out), encoding="utf-8")


def main() -> int:
    found = extract()
    if "--merge" in sys.argv:
        merge(found)
        return 0
    if "--check" in sys.argv:
        bad = 0
        for folder in sorted(p for p in LOCALE.iterdir() if p.is_dir()):
            gaps = missing(folder.name, found)
            for gap in gaps:
                print(f"{folder.name}: missing {gap!r} ({found[gap]})")
            bad += len(gaps)
        return 1 if bad else 0
    write_pot(found, LOCALE / "kidshield.pot")
    print(f"{len(found)} strings -> {LOCALE / 'kidshield.pot'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
