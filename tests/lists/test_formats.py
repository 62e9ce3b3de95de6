"""List formats: hosts, plain domains, adblock DNS rules, UT1 folders; bad lines with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kidshield.errors import ListFormatError
from kidshield.lists import formats
from kidshield.lists.formats import ParseReport, detect_format, parse_file, parse_lines
from tests.lists.helpers import Collected, parse_text

HOSTS = """\
# a hosts file
127.0.0.1 localhost
::1 ip6-localhost ip6-loopback
0.0.0.0 ads.example.com tracker.example.com # two names on one line
0.0.0.0 Bücher.example
ads2.example.com
0.0.0.0
0.0.0.0 bad!name.example
"""


def test_hosts_format(tmp_path: Path) -> None:
    report, sink = parse_text(tmp_path, HOSTS, "hosts")
    assert sink.blocked == [("ads.example.com", 4), ("tracker.example.com", 4),
                            ("xn--bcher-kva.example", 5)]
    assert report.format == "hosts"
    assert report.rules == 3
    assert report.skipped == {"local names": 3}
    assert report.errors == 3
    path = tmp_path / "list.txt"
    assert report.samples[0] == (f"{path}:6: 'ads2.example.com' is not an IP address "
                                 "(hosts format: 'IP name...')")
    assert report.samples[1] == f"{path}:7: an address without a host name"
    assert report.samples[2].startswith(f"{path}:8: ")
    assert report.lines == 8


DOMAINS = """\
# comment
! also a comment
example.com
WWW.Example.ORG.
bücher.de
two words.com
bad!.com
sub.example.net # trailing comment

"""


def test_domains_format(tmp_path: Path) -> None:
    report, sink = parse_text(tmp_path, DOMAINS, "domains")
    assert sink.blocked == [("example.com", 3), ("www.example.org", 4),
                            ("xn--bcher-kva.de", 5), ("sub.example.net", 8)]
    assert (report.rules, report.errors) == (4, 2)
    path = tmp_path / "list.txt"
    assert report.samples[0] == f"{path}:6: 'two words.com': one domain per line expected"
    assert report.samples[1].startswith(f"{path}:7: 'bad!.com'")
    assert "4 rules" in report.summary() and "2 bad lines" in report.summary()


ADBLOCK = """\
[Adblock Plus 2.0]
! Title: test
||ads.example.com^
@@||good.ads.example.com^
||important.example^$important
||third.example^$third-party
||dnstype.example^$dnstype=AAAA
##.banner
example.org##.ad
/banner[0-9]+/
||example.net/path/ad.js
||*.wild.example^
|https://tracker.example/|
plain.example
||Bücher.example^
this is not a rule
"""


def test_adblock_format(tmp_path: Path) -> None:
    report, sink = parse_text(tmp_path, ADBLOCK, "adblock")
    assert sink.blocked == [("ads.example.com", 3), ("important.example", 5),
                            ("plain.example", 14), ("xn--bcher-kva.example", 15)]
    assert sink.allowed == [("good.ads.example.com", 4)]
    assert report.rules == 4
    assert report.allow_rules == 1
    assert report.skipped == {"modifiers": 2, "cosmetic": 2, "regex": 1, "url or wildcard": 3}
    assert report.errors == 1
    assert report.samples == [f"{tmp_path / 'list.txt'}:16: 'this is not a rule' is not an "
                              "adblock DNS rule like '||example.com^'"]
    summary = report.summary()
    assert "1 exceptions" in summary and "8 skipped" in summary and "1 bad lines" in summary


def test_whole_list_as_allow_list_makes_every_entry_an_exception(tmp_path: Path) -> None:
    report, sink = parse_text(tmp_path, "a.example\nb.example\n", "domains", allow=True)
    assert sink.blocked == []
    assert sink.allowed == [("a.example", 1), ("b.example", 2)]
    assert (report.rules, report.allow_rules) == (0, 2)


def test_error_count_is_total_but_only_a_few_samples_are_kept(tmp_path: Path) -> None:
    text = "ok.example\n" + "bad line here\n" * 12
    report, sink = parse_text(tmp_path, text, "domains")
    assert report.errors == 12
    assert len(report.samples) == formats.MAX_SHOWN_ERRORS
    assert report.samples[-1].startswith(f"{tmp_path / 'list.txt'}:6: ")
    assert len(sink.blocked) == 1


@pytest.mark.parametrize(("fmt", "line"), [
    ("domains", "d{i}.example\n"), ("hosts", "0.0.0.0 d{i}.example\n"),
    ("adblock", "||d{i}.example^\n")])
def test_large_list_is_handed_on_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           fmt: str, line: str) -> None:
    monkeypatch.setattr(formats, "CHUNK", 10)
    text = "".join(line.format(i=i) for i in range(25))
    report, sink = parse_text(tmp_path, text, fmt)
    assert [len(c.domains) for c in sink.chunks] == [10, 10, 5]
    assert sink.blocked[-1] == ("d24.example", 25)
    assert report.rules == 25


def test_last_line_without_a_newline_is_read_like_the_others(tmp_path: Path) -> None:
    # the fast path looks for a trailing dot as ".\n"; the last line has no "\n" of its own
    report, sink = parse_text(tmp_path, "a.example\nfqdn.example.", "domains")
    assert sink.blocked == [("a.example", 1), ("fqdn.example", 2)]
    assert (report.rules, report.errors) == (2, 0)


@pytest.mark.parametrize(
    ("sample", "fmt"),
    [
        (["# hosts", "0.0.0.0 a.example", "127.0.0.1 b.example"], "hosts"),
        (["a.example", "b.example"], "domains"),
        (["[Adblock Plus 2.0]", "||a.example^"], "adblock"),
        (["! comment", "||a.example^", "@@||b.example^"], "adblock"),
        ([], "domains"),
    ],
)
def test_detect_format(sample: list[str], fmt: str) -> None:
    assert detect_format(sample) == fmt


@pytest.mark.parametrize(
    ("text", "fmt"),
    [("0.0.0.0 a.example\n", "hosts"), ("a.example\n", "domains"), ("||a.example^\n", "adblock")],
)
def test_auto_detection_parses_each_format(tmp_path: Path, text: str, fmt: str) -> None:
    report, sink = parse_text(tmp_path, text, "auto")
    assert report.format == fmt
    assert sink.blocked == [("a.example", 1)]


WEB_PAGE = """\
<!DOCTYPE html>
<html lang="en"><head><title>Not found</title></head>
<body><p>The page you asked for is not here.</p></body>
</html>
"""


@pytest.mark.parametrize("fmt", ["auto", "domains", "hosts", "adblock"])
def test_web_page_is_rejected_as_not_a_list(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(ListFormatError, match="not a list"):
        parse_text(tmp_path, WEB_PAGE, fmt)


def test_web_page_after_blank_lines_is_rejected_as_not_a_list(tmp_path: Path) -> None:
    with pytest.raises(ListFormatError, match="not a list"):
        parse_text(tmp_path, "\n\n" + WEB_PAGE, "auto")


def test_json_document_is_rejected_as_not_a_list(tmp_path: Path) -> None:
    with pytest.raises(ListFormatError, match=r"list\.txt:1: this is not a list"):
        parse_text(tmp_path, '{"error": "rate limited"}\n', "domains")


def test_byte_order_mark_does_not_spoil_the_first_entry(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffa.example\nb.example\n".encode())
    sink = Collected()
    report = parse_file(path, "domains", sink)
    assert sink.blocked == [("a.example", 1), ("b.example", 2)]
    assert report.errors == 0


def test_unknown_format_is_an_error() -> None:
    with pytest.raises(ListFormatError, match="unknown list format"):
        parse_lines(["a.example"], "rpz", ParseReport("x"), Collected())


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ListFormatError, match="no such list file"):
        parse_file(tmp_path / "nope.txt", "domains", Collected())


# -- UT1 folders -------------------------------------------------------------------------------

def make_ut1(root: Path) -> Path:
    for folder, text in {
        "adult": "porn.example\nxxx.example\n",
        "drogue": "weed.example\n",
        "sexual_education": "health.example\n",
        "my-own": "own.example\nbad name\n",
    }.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "domains").write_text(text, encoding="utf-8")
        (root / folder / "urls").write_text("porn.example/x\n", encoding="utf-8")
    (root / "README").write_text("UT1 blacklists\n", encoding="utf-8")
    (root / "empty_folder").mkdir()
    return root


@pytest.mark.parametrize("fmt", ["ut1", "auto"])
def test_ut1_folder_maps_folders_to_categories(tmp_path: Path, fmt: str) -> None:
    root = make_ut1(tmp_path / "blacklists")
    sink = Collected()
    report = parse_file(root, fmt, sink)
    assert sink.by_category() == {"adult": ["porn.example", "xxx.example"],
                                  "drugs": ["weed.example"], "my_own": ["own.example"]}
    assert report.format == "ut1"
    assert report.rules == 4
    assert report.skipped == {"category sexual_education": 1}
    assert report.errors == 1
    assert report.samples == [f"{root / 'my-own' / 'domains'}:2: 'bad name': one domain per "
                              "line expected"]


def test_ut1_folder_without_category_files_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ListFormatError, match="no <category>/domains files"):
        parse_file(tmp_path, "ut1", Collected())


def test_ut1_format_on_a_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("a.example\n", encoding="utf-8")
    with pytest.raises(ListFormatError, match="a UT1 list is a folder"):
        parse_file(path, "ut1", Collected())
