"""``scripts/web_i18n.py --merge`` touches only what changed: a translator's diff after it
shows the new strings and the retired ones, nothing else. Run as the command, on a copy of the
sources and catalogs (the script finds them beside itself)."""

from __future__ import annotations

import difflib
import importlib.util
import io
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("kidshield/web", "kidshield/education", "kidshield/reports")
PAGE = "kidshield/web/templates/welcome.html"
OLD = "Add a device by address"  # a dashboard string used on that page only
NEW = "Add a device by its address"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "web_i18n.py", root / "scripts")
    for folder in SOURCES:
        shutil.copytree(ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.so", "data"))
    return root


def _merge(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "scripts/web_i18n.py", *args], cwd=root,
                          capture_output=True, text=True, timeout=120)


def _catalogs(root: Path) -> dict[str, bytes]:
    locale = root / "kidshield" / "web" / "locale"
    return {str(p.relative_to(locale)): p.read_bytes()
            for p in sorted(locale.glob("*/LC_MESSAGES/*.po"))}


def test_merge_on_an_unchanged_tree_leaves_every_catalog_byte_identical(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    before = _catalogs(root)
    assert len(before) == 8
    done = _merge(root, "--merge")
    assert done.returncode == 0, done.stderr
    assert _catalogs(root) == before
    assert before == _catalogs(ROOT)  # the copy is the tree as committed


def _templates(root: Path) -> dict[str, bytes]:
    locale = root / "kidshield" / "web" / "locale"
    return {p.name: p.read_bytes() for p in sorted(locale.glob("*.pot"))}


def _date(pot: bytes) -> str:
    return next(line for line in pot.decode().splitlines()
                if line.startswith('"POT-Creation-Date:'))


def test_writing_the_templates_twice_on_an_unchanged_tree_leaves_them_byte_identical(
        tmp_path: Path) -> None:
    # the templates as committed, dated in the past: the run must not re-date them
    root = _copy(tmp_path)
    locale = root / "kidshield" / "web" / "locale"
    for pot in locale.glob("*.pot"):
        text = pot.read_text(encoding="utf-8")
        old = _date(text.encode())
        pot.write_text(text.replace(old, '"POT-Creation-Date: 2020-01-02 03:04+0000\\n"'),
                       encoding="utf-8")
    before = _templates(root)
    assert len(before) == 2
    for _ in range(2):
        done = _merge(root)
        assert done.returncode == 0, done.stderr
        assert "updated" not in done.stdout
        assert _templates(root) == before


def test_a_new_string_re_dates_the_template_it_lands_in(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    before = _templates(root)
    source = root / PAGE
    source.write_text(source.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
    pot = root / "kidshield" / "web" / "locale" / "kidshield.pot"
    pot.write_bytes(pot.read_bytes().replace(_date(before["kidshield.pot"]).encode(),
                                             b'"POT-Creation-Date: 2020-01-02 03:04+0000\\n"'))
    done = _merge(root)
    assert done.returncode == 0, done.stderr
    after = _templates(root)
    assert "2020-01-02" not in _date(after["kidshield.pot"])
    assert NEW in after["kidshield.pot"].decode()
    assert after["children.pot"] == before["children.pot"]


def test_merge_adds_new_strings_and_retires_old_ones_leaving_the_rest(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    source = root / PAGE
    text = source.read_text(encoding="utf-8")
    assert text.count(f'"{OLD}"') == 1
    line = next(i for i, x in enumerate(text.splitlines(), 1) if f'"{OLD}"' in x)
    source.write_text(text.replace(f'"{OLD}"', f'"{NEW}"'), encoding="utf-8")
    before = _catalogs(root)
    done = _merge(root, "--merge")
    assert done.returncode == 0, done.stderr
    after = _catalogs(root)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"ar/LC_MESSAGES/kidshield.po", "en/LC_MESSAGES/kidshield.po"}
    for name in changed:
        old_lines = before[name].decode().splitlines()
        new_lines = after[name].decode().splitlines()
        diff = list(difflib.unified_diff(old_lines, new_lines, lineterm="", n=0))
        removed = [d[1:] for d in diff if d.startswith("-") and not d.startswith("---")]
        added = [d[1:] for d in diff if d.startswith("+") and not d.startswith("+++")]
        # the old entry: its reference dropped, msgid and msgstr behind "#~"
        assert removed[0].startswith(f"#: {PAGE}")
        assert removed[1] == f'msgid "{OLD}"' and removed[2].startswith("msgstr ")
        assert len(removed) == 3, diff
        assert added[:2] == [f'#~ msgid "{OLD}"', f"#~ {removed[2]}"]
        # the new one, written by Babel as the rest: untranslated but in English
        string = f'"{NEW}"' if name.startswith("en/") else '""'
        assert added[2:] == [f"#: {PAGE}:{line}", f'msgid "{NEW}"', f"msgstr {string}",
                             ""], diff
        catalog = read_po(io.BytesIO(after[name]), locale=name[:2])
        assert catalog.get(NEW) is not None and catalog.get(OLD) is None
        assert OLD in catalog.obsolete
    assert _merge(root, "--merge").stdout == ""  # nothing more to do: nothing written
    assert _catalogs(root) == after
    check = _merge(root, "--check")
    assert check.returncode == 1 and f"ar/kidshield: missing {NEW!r}" in check.stdout

    # the string comes back: so does its entry, with the translation it had
    source.write_text(text, encoding="utf-8")
    assert _merge(root, "--merge").returncode == 0
    catalog = read_po(io.BytesIO(_catalogs(root)["ar/LC_MESSAGES/kidshield.po"]), locale="ar")
    revived = catalog.get(OLD)
    assert revived is not None and revived.string and OLD not in catalog.obsolete


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("web_i18n", ROOT / "scripts" / "web_i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_string_added_after_the_last_entry_keeps_one_blank_line_and_the_final_newline() -> None:
    """When the entry the new ones follow is the file's last, the file still ends in one
    newline and the new entry follows one blank line (it was two, and no final newline)."""
    web_i18n = _script()
    text = ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
            '#: a.html:1\nmsgid "Old"\nmsgstr "Vieux"\n')
    merged = web_i18n.merge_text(text, "children", "fr",
                                 {"Old": "a.html:1", "New": "a.html:2"}, {})
    assert merged.startswith(text.rstrip("\n") + "\n\n#: a.html:2\nmsgid \"New\"\n")
    assert merged.endswith('msgstr ""\n') and "\n\n\n" not in merged
