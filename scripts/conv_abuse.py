"""ConvAbuse as whole conversations: what the tracker flags of users abusing a chatbot, turn by
turn (issue 12: what holding lone teasing costs in missed bullying).

ConvAbuse rows are single user turns with the bot's turn before them in ``context`` and a
``conversation`` id; the row id (``split:example_id``) numbers the turns of the release in
order. Each conversation is replayed as the bot's turn then the user's, in example-id order,
through ``ConversationTracker`` (no ages, no times: nobody's age is known, and the bullying
half-life is days). Counted per half (``halves.half_of`` on the conversation id), for all
conversations and for those with two or more user turns:

* the user turns labelled abusive (bullying, hate) flagged for bullying at ``low`` or above,
  and the benign user turns flagged for it;
* the conversations with an abusive turn in which bullying is flagged at all (a message or the
  conversation's own finding), at the first abusive turn or how many user turns later;
* the conversations whose user turns are all benign, flagged for bullying and for any risk.

``--chats FILE`` counts instead a source of benign chat segments with conversation ids (the
chit-chat source), each conversation rebuilt whole from its segments in order (the row id is
``conversation:segment``), run through ``assess_conversation``: conversations flagged for
bullying and for any risk at ``low`` or above, per half on the conversation id (``--every N``
takes every Nth conversation).

``--no-hold`` measures the same code with the held-teasing rule turned off (the rule's
``_hold_lone_teasing`` returns the message's findings as they are). ``--dev-missed FILE``
writes the DEV conversations' abusive turns that are held or missed, with the turns around
them; a turn whose own text falls in the TEST half (the single-message fold keys halves on
the text) is written as ``[TEST text]``. TEST conversations are only counted, with
``--count-test``.

    nice -n 5 .venv/bin/python scripts/conv_abuse.py \
        --data /work/shared/data/text-train/convabuse.jsonl.gz --load FOLD.pkl \
        [--no-hold] [--dev-missed FILE] [--count-test]

FOLD.pkl: a fold trained without ConvAbuse (``loso_halves.py --source convabuse --save`` or
``conv_benign.py --source convabuse --save``).
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from folds import read_saved  # scripts/folds.py: python puts the script's folder on the path

from kidshield.safety.text.combine import Combined, Combiner
from kidshield.safety.text.conversation import ConversationTracker, assess_conversation
from kidshield.safety.text.halves import half_of
from kidshield.safety.text.model import Risk, RiskLevel
from kidshield.safety.text.state import Message
from kidshield.safety.text.trainingdata import segment_messages

ABUSIVE = frozenset({"bullying", "hate", "threat"})
USER, BOT = "user", "bot"


@dataclass(frozen=True, slots=True)
class Turn:
    bot: str | None  # the bot's turn before the user's; None when the release has "_"
    text: str
    abusive: bool


def read_conversations(path: Path) -> dict[str, list[Turn]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    by: dict[str, list[tuple[float, Turn]]] = {}
    for row in rows:
        context = str(row.get("context") or "").removeprefix("agent:").strip()
        turn = Turn(None if context in ("", "_") else context, row["text"],
                    not ABUSIVE.isdisjoint(row["labels"]))
        order = float(str(row["id"]).split(":", 1)[1])
        by.setdefault(str(row["conversation"]), []).append((order, turn))
    return {cid: [t for _, t in sorted(turns, key=lambda p: p[0])] for cid, turns in by.items()}


@dataclass
class Replay:
    flagged: list[bool]  # per user turn: the message flagged for bullying
    first_flag: int | None  # the user turn at which the user's bullying was first flagged
    first_any: int | None  # ... at which the user's messages or direction reached any risk
    any_risk: bool  # the user's messages or direction, any risk
    bot_flagged: int  # bot turns flagged for bullying (ELIZA echoes the user's words)


def replay(turns: list[Turn], engine: Combiner) -> Replay:
    tracker = ConversationTracker(engine=engine)
    flagged: list[bool] = []
    first_flag: int | None = None
    first_any: int | None = None
    any_risk = False
    bot_flagged = 0
    for number, turn in enumerate(turns):
        if turn.bot is not None:
            bot = tracker.add(Message(BOT, turn.bot))
            bot_flagged += any(f.risk is Risk.BULLYING and f.level >= RiskLevel.LOW
                               for f in bot.findings)
        result = tracker.add(Message(USER, turn.text))
        levels = {f.risk: f.level for f in result.findings}
        mine = levels.get(Risk.BULLYING, RiskLevel.NONE) >= RiskLevel.LOW
        flagged.append(mine)
        any_risk |= any(lv >= RiskLevel.LOW for lv in levels.values())
        # the user's direction only: the bot's findings are counted apart
        users = [f for f in tracker.last_findings
                 if f.pair.startswith(f"{USER}>") and f.level >= RiskLevel.LOW]
        any_risk |= bool(users)
        if first_flag is None and (mine or any(f.risk is Risk.BULLYING for f in users)):
            first_flag = number
        if first_any is None and any_risk:
            first_any = number
    return Replay(flagged, first_flag, first_any, any_risk, bot_flagged)


def no_hold() -> None:
    def keep(self: ConversationTracker, combined: Combined, *_: Any) -> Combined:
        return combined

    ConversationTracker._hold_lone_teasing = keep  # type: ignore[method-assign]


def _delay(first: int | None, first_abuse: int) -> str:
    if first is None:
        return "never"
    delay = first - first_abuse
    return ("at the first abusive turn" if delay == 0 else "before it" if delay < 0
            else f"{delay} user turns later")


def counts(convs: dict[str, list[Turn]], engine: Combiner, missed: list[str] | None,
           half: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group, least in (("all", 1), ("two_or_more_turns", 2)):
        c: Counter[str] = Counter()
        delays: Counter[str] = Counter()
        any_delays: Counter[str] = Counter()
        for cid, turns in sorted(convs.items()):
            if len(turns) < least:
                continue
            run = replay(turns, engine)
            c["conversations"] += 1
            c["user_turns"] += len(turns)
            c["bot_turns_flagged"] += run.bot_flagged
            for turn, flag in zip(turns, run.flagged, strict=True):
                if turn.abusive:
                    c["abusive_turns"] += 1
                    c["abusive_turns_flagged"] += flag
                else:
                    c["benign_turns"] += 1
                    c["benign_turns_flagged"] += flag
            first_abuse = next((i for i, t in enumerate(turns) if t.abusive), None)
            if first_abuse is None:
                c["benign_conversations"] += 1
                c["benign_conversations_flagged_bullying"] += run.first_flag is not None
                c["benign_conversations_flagged_any_risk"] += run.any_risk
                continue
            c["abusive_conversations"] += 1
            c["abusive_conversations_flagged"] += run.first_flag is not None
            c["abusive_conversations_flagged_any_risk"] += run.first_any is not None
            delays[_delay(run.first_flag, first_abuse)] += 1
            any_delays[_delay(run.first_any, first_abuse)] += 1
            if missed is not None and group == "all":
                for i, (turn, flag) in enumerate(zip(turns, run.flagged, strict=True)):
                    if not turn.abusive or flag:
                        continue
                    lines = [f"=== {cid} turn {i + 1} of {len(turns)} "
                             f"(conversation first flagged at {run.first_flag})"]
                    for j in range(max(0, i - 2), min(len(turns), i + 2)):
                        t = turns[j]
                        for who, text in ((BOT, t.bot), (USER, t.text)):
                            if text is None:
                                continue
                            shown = text if half_of(text) == "dev" else "[TEST text]"
                            mark = "*" if j == i and who == USER else " "
                            label = " (abusive)" if who == USER and t.abusive else ""
                            lines.append(f" {mark}{who}{label}: {shown[:160]!r}")
                    missed.extend(lines)
        out[group] = {**dict(sorted(c.items())),
                      "abusive_conversations_first_flagged": dict(sorted(delays.items())),
                      "abusive_conversations_first_flagged_any_risk":
                      dict(sorted(any_delays.items()))}
    return out


def read_chats(path: Path) -> dict[str, list[Message]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    parts: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        cid, _, number = str(row["id"]).rpartition(":")
        parts.setdefault(str(row.get("conversation") or cid), []).append((int(number), row["text"]))
    return {
        cid: [Message(who, text) for _, segment in sorted(segments)
              for who, text in segment_messages(segment)]
        for cid, segments in parts.items()
    }


def chat_counts(chats: dict[str, list[Message]], engine: Combiner) -> dict[str, Any]:
    c: Counter[str] = Counter()
    for _cid, messages in sorted(chats.items()):
        result = assess_conversation(messages, engine=engine)
        levels = [f.level for f in result.findings if f.risk is Risk.BULLYING]
        levels += [f.level for m in result.messages for f in m.findings
                   if f.risk is Risk.BULLYING]
        every = [f.level for f in result.findings]
        every += [f.level for m in result.messages for f in m.findings]
        c["conversations"] += 1
        c["messages"] += len(messages)
        c["flagged_bullying"] += any(lv >= RiskLevel.LOW for lv in levels)
        c["flagged_any_risk"] += any(lv >= RiskLevel.LOW for lv in every)
    return dict(c)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path)
    ap.add_argument("--load", type=Path, required=True)
    ap.add_argument("--no-hold", action="store_true")
    ap.add_argument("--dev-missed", type=Path)
    ap.add_argument("--count-test", action="store_true")
    ap.add_argument("--chats", type=Path)
    ap.add_argument("--every", type=int, default=1)
    args = ap.parse_args()
    if args.no_hold:
        no_hold()
    trained, conv_model = read_saved(args.load)
    classifier = trained.classifier()
    classifier.conversation = conv_model
    engine = Combiner(classifier)
    report: dict[str, Any] = {"hold": not args.no_hold}
    if args.chats:
        chats = read_chats(args.chats)
        for half in ("dev", "test") if args.count_test else ("dev",):
            chosen = sorted(cid for cid in chats if half_of(cid) == half)[::args.every]
            report[half] = chat_counts({cid: chats[cid] for cid in chosen}, engine)
        print(json.dumps(report, indent=2))
        return 0
    if args.data is None:
        raise SystemExit("--data: the ConvAbuse file is needed (or --chats)")
    convs = read_conversations(args.data)
    missed: list[str] | None = [] if args.dev_missed else None
    for half in ("dev", "test") if args.count_test else ("dev",):
        chosen = {cid: t for cid, t in convs.items() if half_of(cid) == half}
        report[half] = counts(chosen, engine, missed if half == "dev" else None, half)
    if args.dev_missed and missed is not None:
        args.dev_missed.write_text("\n".join(missed) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
