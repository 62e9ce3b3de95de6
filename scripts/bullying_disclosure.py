"""Bullying signposts (a writer telling they are bullied) on disclosures and on benign sources.

    PYTHONPATH=$PWD python scripts/bullying_disclosure.py dev [--show]
    PYTHONPATH=$PWD python scripts/bullying_disclosure.py test     # once, after the bar

Disclosures: messages-b ``bullying_tweets.jsonl`` rows of kind ``school-story:victim-report``;
parent/friend reports: the first writer's ``messages/bullying_negatives.jsonl`` rows labelled
``reporting-bullying``, ``reporting-third-person``, ``medium-reporting`` or
``specific-reporting`` that name someone the writer speaks for (the lexicon's ``{others}``
macro: "my son", "my friend", ...).
Benign: the teen corpus (whole, DEV run only), chit-chat, GoEmotions-benign, RMHD rows labelled
benign, messages-b ``tweets_everyday`` and ``bullying_tweets_negatives``, and the synthetic
benign conversations through the tracker (half by conversation id). A row is counted when its
assessment has a bullying signpost; only rows the lexicon's target/threat patterns match are
assessed (a signpost needs one). Each count is split by the signpost's kind (``target``,
``threat``, ``other``: someone else's bullying). ``--show`` prints DEV rows only, never TEST
ones.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kidshield.safety.text import Assessment, assess_conversation, assess_message
from kidshield.safety.text.combine import TARGET_KINDS
from kidshield.safety.text.halves import half_of
from kidshield.safety.text.lexicon import load_lexicon
from kidshield.safety.text.model import Risk

DATA = Path("/work/shared/data/text-train")
SYNTH = Path("data/text-synth")
LEXICON = load_lexicon()
BULLYING = LEXICON.for_risk(Risk.BULLYING)
_MACROS = tomllib.loads(Path("kidshield/safety/text/data/en/bullying.toml").read_text("utf-8"))
OTHERS = re.compile(r"(?<![a-z])" + _MACROS["macros"]["others"] + r"(?![a-z])")
REPORTING = frozenset({"reporting-bullying", "reporting-third-person", "medium-reporting",
                       "specific-reporting"})


def candidate(text: str) -> bool:
    view = LEXICON.normalizer.normalize(text).text
    return any(kind in TARGET_KINDS for kind, _s, _e in BULLYING.about_spans(view))


def rows(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def signposted(result: Assessment) -> bool:
    return any(s.risk is Risk.BULLYING for s in result.signposts)


def kind(result: Assessment) -> str:
    return next(s.why for s in result.signposts if s.risk is Risk.BULLYING)


def kinds(counted: Counter[str]) -> str:
    return " (" + ", ".join(f"{k} {n}" for k, n in sorted(counted.items())) + ")" if counted else ""


def told(text: str, result: Assessment) -> str:
    return " | ".join(repr(text[span.start:span.end]) for s in result.signposts
                      for span in s.spans)


def count(name: str, texts: Iterable[str], show: bool) -> None:
    total = hits = 0
    by_kind: Counter[str] = Counter()
    for text in texts:
        total += 1
        if candidate(text) and signposted(result := assess_message(text)):
            hits += 1
            by_kind[kind(result)] += 1
            if show:
                print(f"  [{name}] {kind(result)}: {told(text, result)}")
    print(f"{name}: {hits}/{total} = {100 * hits / max(total, 1):.2f} %{kinds(by_kind)}",
          flush=True)


def main() -> None:
    half = sys.argv[1]
    show = "--show" in sys.argv and half == "dev"
    mine = [r["text"] for r in rows(SYNTH / "messages-b/bullying_tweets.jsonl")
            if "victim-report" in r["source_label"] and half_of(r["text"]) == half]
    got = by_finding = none = flagged = 0
    for text in mine:
        result = assess_message(text)
        flagged += result.finding(Risk.BULLYING) is not None
        if signposted(result):
            got += 1
        elif result.helplines and result.finding(Risk.BULLYING):
            by_finding += 1
        else:
            none += 1
            if show:
                print(f"  [missed] {[f.risk.value for f in result.findings]} {text!r}")
    print(f"victim-report {half}: signpost {got}/{len(mine)}, finding with helplines "
          f"{by_finding}, no help {none}; a bullying finding against the writer "
          f"{flagged}/{len(mine)}")
    reports = [r["text"] for r in rows(SYNTH / "messages/bullying_negatives.jsonl")
               if r["source_label"].rsplit(":", 1)[-1] in REPORTING and half_of(r["text"]) == half
               and OTHERS.search(LEXICON.normalizer.normalize(r["text"]).text)]
    told_by_kind: Counter[str] = Counter()
    for text in reports:
        if signposted(result := assess_message(text)):
            told_by_kind[kind(result)] += 1
        elif show:
            print(f"  [parent/friend missed] {text!r}")
    print(f"parent/friend reports {half}: signposted {told_by_kind.total()}/{len(reports)}"
          f"{kinds(told_by_kind)}")
    for path in (SYNTH / "messages/bullying.jsonl", SYNTH / "messages-b/bullying_tweets.jsonl"):
        chosen = [r for r in rows(path) if half_of(r["text"]) == half]
        hit = Counter(kind(result) for r in chosen if candidate(r["text"])
                      and signposted(result := assess_message(r["text"])))
        print(f"{path.name} (all bullying kinds) {half}: signposted {hit.total()}/{len(chosen)}"
              f"{kinds(hit)}")
    corpus = Path("tests/safety/text/corpus/benign.txt").read_text(encoding="utf-8")
    if half == "dev":
        count("teen corpus (whole)", [line for line in corpus.splitlines()
                                      if line.strip() and not line.startswith("#")], show)
    for name, path, benign_only in (
        ("chitchat", DATA / "chitchat-byu-pccl.jsonl.gz", False),
        ("goemotions-benign", DATA / "goemotions-benign.jsonl.gz", False),
        ("rmhd benign", DATA / "reddit-mental-health-rmhd-sample.jsonl.gz", True),
        ("tweets_everyday", SYNTH / "messages-b/tweets_everyday.jsonl", False),
        ("bullying_tweets_negatives", SYNTH / "messages-b/bullying_tweets_negatives.jsonl",
         False),
    ):
        count(name, (r["text"] for r in rows(path) if half_of(r["text"]) == half
                     and (not benign_only or r["labels"] == ["benign"])), show)
    conversations: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(SYNTH.glob("conversations*/benign-*.jsonl")):
        for row in rows(path):
            conversations[row["conversation"]].append(row)
    total = hits = 0
    by_kind: Counter[str] = Counter()
    for cid, messages in conversations.items():
        if half_of(cid) != half:
            continue
        total += len(messages)
        if not any(candidate(m["text"]) for m in messages):
            continue
        result = assess_conversation([
            {"sender": m["sender"], "text": m["text"], "recipient": m.get("recipient"),
             "at": m.get("at")} for m in messages
        ])
        for message, assessed in zip(messages, result.messages, strict=True):
            if signposted(assessed):
                hits += 1
                by_kind[kind(assessed)] += 1
                if show:
                    print(f"  [conversation {cid}] {told(message['text'], assessed)}")
    print(f"benign conversations (messages): {hits}/{total} = "
          f"{100 * hits / max(total, 1):.2f} %{kinds(by_kind)}")


if __name__ == "__main__":
    main()
