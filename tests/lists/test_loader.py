"""Loading every enabled list of a configuration into one index the engine can use."""

from __future__ import annotations

from pathlib import Path

from kidshield.config import parse_config
from kidshield.lists.loader import load_lists
from kidshield.policy.engine import PolicyEngine
from kidshield.policy.model import Query
from kidshield.policy.reason import Reason
from kidshield.policy.state import EMPTY_STATE
from tests.policy.helpers import LONDON, local, make_profile, small_catalog

CONFIG = """
[server]
data_dir = "data"
builtin_lists = false

[[lists]]
name = "adult"
source = "lists/adult.txt"
category = "adult"

[[lists]]
name = "gambling-hosts"
source = "lists/gambling.hosts"
category = "gambling"
format = "hosts"

[[lists]]
name = "ads"
source = "lists/ads.txt"
category = "ads"
format = "adblock"

[[lists]]
name = "ut1"
source = "ut1"
format = "ut1"

[[lists]]
name = "school-allow"
source = "lists/allow.txt"
allow = true

[[lists]]
name = "off"
source = "lists/missing.txt"
category = "adult"
enabled = false

[[lists]]
name = "remote"
source = "https://lists.example/adult.txt"
category = "adult"

[[lists]]
name = "page"
source = "lists/page.html"
category = "adult"
"""


def write_lists(root: Path) -> None:
    files = {
        "lists/adult.txt": "# adult\nporn.example\nbücher-xxx.example\nbad entry\n",
        "lists/gambling.hosts": "0.0.0.0 casino.example\n127.0.0.1 localhost\n",
        "lists/ads.txt": "||ads.example^\n@@||ok.ads.example^\nexample.org##.ad\n",
        "ut1/adult/domains": "ut1-porn.example\n",
        "ut1/drogue/domains": "weed.example\n",
        "lists/allow.txt": "wiki.porn.example\n",
        "lists/page.html": "<!DOCTYPE html>\n<html></html>\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_load_lists_builds_one_index_with_categories_files_and_lines(tmp_path: Path) -> None:
    write_lists(tmp_path)
    config = parse_config(CONFIG, source=str(tmp_path / "kidshield.toml"), base_dir=tmp_path)
    result = load_lists(config)
    assert sorted(result.reports) == ["ads", "adult", "gambling-hosts", "school-allow", "ut1"]
    assert result.reports["adult"].errors == 1
    assert result.reports["adult"].samples == [f"{tmp_path / 'lists/adult.txt'}:4: 'bad entry': "
                                               "one domain per line expected"]
    assert result.problems == [
        "list 'remote' has not been downloaded yet: run 'kidshield lists update'",
        f"{tmp_path / 'lists/page.html'}:1: this is not a list (it looks like a web page or "
        "JSON document) (no earlier good copy: the list is not used)",
    ]
    lists = result.lists
    assert lists.categories[0] == "allow"
    assert {"adult", "gambling", "ads", "drugs"} <= set(lists.categories)
    assert len(lists.index) == 8

    eng = PolicyEngine(small_catalog(), lists)
    prof = make_profile()
    now = local(LONDON, 2026, 12, 1, 15, 0)

    def decide(name: str) -> tuple[Reason, str | None, str | None, int | None]:
        d = eng.decide(Query(name), prof, now, EMPTY_STATE)
        src = d.source
        return (d.reason, d.category, None if src is None else src.file,
                None if src is None else src.line)

    assert decide("www.porn.example") == (Reason.CATEGORY, "adult",
                                          str(tmp_path / "lists/adult.txt"), 2)
    assert decide("xn--bcher-xxx-q9a.example")[:2] == (Reason.CATEGORY, "adult")
    assert decide("casino.example") == (Reason.CATEGORY, "gambling",
                                        str(tmp_path / "lists/gambling.hosts"), 1)
    assert decide("ut1-porn.example")[:2] == (Reason.CATEGORY, "adult")
    assert decide("weed.example")[:2] == (Reason.CATEGORY, "drugs")
    assert decide("wiki.porn.example")[0] is Reason.ALLOWED  # allow list
    assert decide("ads.example")[:2] == (Reason.ALLOWED, "ads")  # ads are not blocked for 9-12
    assert decide("example.org")[0] is Reason.ALLOWED


def test_unicode_list_entries_match_punycode_queries(tmp_path: Path) -> None:
    (tmp_path / "l.txt").write_text("Bücher.DE\n", encoding="utf-8")
    config = parse_config('[[lists]]\nname = "x"\nsource = "l.txt"\ncategory = "adult"\n',
                          base_dir=tmp_path)
    index = load_lists(config).lists.index
    assert index.contains_suffix("www.xn--bcher-kva.de")
    assert not index.contains_suffix("bücher.de")  # queries are normalised before lookup


def test_no_lists_give_an_empty_index() -> None:
    result = load_lists(parse_config("[server]\nbuiltin_lists = false\n"))
    assert len(result.lists.index) == 0
    assert result.problems == []
