"""The whole engine's bullying misses and false alarms on a source's DEV half, sorted into kinds.

docs/safety-log.md, "Insults in comment threads", counts these. A saved leave-one-source-out fold
(``scripts/loso_halves.py --source NAME --risk bullying --save fold.pkl``) is read with the
rules of the tree on ``PYTHONPATH``; every DEV row the engine gets wrong is put in one kind by
the first keyword rule below that fits (a rough sort, meant for counting where to look, not a
classifier), and in one cause: the fold model's probability band (below its low threshold,
between low and medium, medium or above), whether the outside profanity gate passed it,
whether a bullying cue matched, and whether the aim rule (``[model] requires``) found a target.
Only counts are printed; ``--rows FILE`` writes the DEV rows (never TEST rows) for reading.

    nice -n 5 PYTHONPATH=$PWD .venv/bin/python scripts/bullying_kinds.py --data \
        /work/shared/data/text-train --data data/text-synth --source NAME --load fold.pkl \
        [--rows dev-rows.jsonl]

Needs the ``[train]`` extra.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
from pathlib import Path

from folds import read_fold  # scripts/folds.py: python puts the script's folder on the path

from kidshield.safety.text.assess import MAX_TEXT_LENGTH, collect_hits, resolve_language
from kidshield.safety.text.combine import Combiner, _blank
from kidshield.safety.text.evaluate import _score_row
from kidshield.safety.text.halves import half_of
from kidshield.safety.text.loso import gold_risks
from kidshield.safety.text.model import AgeBand, Risk, RiskLevel
from kidshield.safety.text.train import prepare, train_settings
from kidshield.safety.text.trainingdata import source_group

INSULT = (
    r"(?:stupid\w*|idiot\w*|moron\w*|fool\w*|ignoran\w*|dumb\w*|clowns?|pathetic|losers?|"
    r"hypocrit\w*|liars?|lying|cowards?|cowardly|kooks?|nut ?jobs?|nuts|crazy|lunatics?|"
    r"imbeciles?|ridiculous|silly|dimwit\w*|dolts?|buffoons?|jerks?|clueless|brainless|trolls?|"
    r"scum\w*|trash|garbage|bigot\w*|racists?|traitors?|hags?|whin\w*|crybab\w*|snowflakes?|"
    r"sheep|deplorables?|libtards?|incompetent|corrupt|crook\w*|thugs?|creeps?|sick|twisted|"
    r"disgusting|evil|vile|nasty|hateful|arrogant|delusional|insane|retard\w*|dense|halfwit\w*|"
    r"numbskull\w*|nitwit\w*|dunce\w*|mental|psycho\w*|sociopath\w*|narcissis\w*|wh?ackos?|"
    r"dopes?|dumm(?:y|ies)|ass\w*|jackass\w*|bastards?|shit\w*|crap\w*|damn\w*|fuck\w*|hell|"
    r"suck\w*|bitch\w*|dick\w*|pig\w*|ugly|fat|childish|lazy|greedy|selfish|spineless|"
    r"worthless|useless|sleaz\w*|slim[ey]\w*|weasel\w*|rats?|hacks?|shills?|puppets?|fascis\w*|"
    r"nazis?)"
)
DEHUMANISING = (
    r"(?:animals?|vermin|parasit\w*|rats|pigs|swine|cockroach\w*|roaches|subhuman\w*|savages?|"
    r"monkeys?|apes?|dogs|leech\w*|filth\w*|disease\w*|cancer|plague|infest\w*|breed\w*|"
    r"maggots?|lice|insects?|beasts?|barbarians?|primitive|uncivili[sz]ed|creatures?|herds?|"
    r"mongrels?|scum|trash|garbage)"
)
GROUP = (
    r"(?:women|girls|females|men|males|gays?|lesbians?|homosexuals?|trans\w*|muslims?|islam\w*|"
    r"jews?|jewish|christians?|catholics?|hindus?|blacks?|whites?|asians?|chinese|mexicans?|"
    r"latinos?|latinas?|hispanics?|immigrants?|migrants?|refugees?|foreigners|illegals|arabs?|"
    r"africans?|natives?|indigenous|indians?|aboriginals?|disabled|autistic|liberals?|libs|"
    r"conservatives?|republicans?|democrats?|dems|leftists?|lefties|progressives?|trumpers|"
    r"maga|gop|evangelicals?|atheists?|millennials?|boomers?|mormons?|priests?|clergy|police|"
    r"cops?|teachers?|unions?|politicians?)"
)
FIGURE = (
    r"(?:trump\w*|donald|hillary|clinton\w*|obama\w*|putin|trudeau|harper|president|"
    r"politicians?|premier|mayor|governor|senators?|ministers?|congress\w*|prime minister|"
    r"mps?|legislat\w*|mcconnell|pelosi|bush|administration|government|officials?|judges?)"
)
SARCASM = (
    r"(?:yeah right|oh right|oh yeah|oh sure|must be nice|what a surprise|surprise surprise|"
    r"bravo|congrat\w*|genius|brilliant|nice try|good luck with that|how convenient|how nice|"
    r"thanks for|well done|wow|lol|haha|hilarious|funny how|gee|golly|clearly|obviously|"
    r"of course)"
)
THREAT = (
    r"(?:kill\w*|shoot\w*|shot|hang\w*|lynch\w*|beat\w*|hurt\w*|punch\w*|die|dead|death|"
    r"murder\w*|execut\w*|jail\w*|prison|deport\w*|burn\w*|bomb\w*|nuke\w*|gun\w*|slap\w*|"
    r"exterminat\w*|wipe\w* out|get rid of)"
)
READER = r"(?:you|your|youre|u|ur|yourself|you guys|yall|@\w+)"
PEOPLE_LIKE_YOU = (
    r"(?:(?:people|folks|ppl|those) like (?:you|u|him|her|them|that|these|those)|your kind|"
    r"their kind|you people|these people|those people|you lot|your lot)"
)
THIRD = (
    r"(?:he|she|him|her|hes|shes|they|them|theyre|this (?:guy|man|woman|person)|"
    r"that (?:guy|man|woman|person))"
)
WISH = r"(?:should|deserve|ought|hope|wish|needs? to|gonna|going to|will|ll|lets?|would|must)"
COPULA = r"(?:are|is|r|like|bunch of|pack of|these|those|such|as|nothing but|just)"


def _word(pattern: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z])" + pattern + r"(?![a-z])")


RX = {
    name: _word(pattern)
    for name, pattern in {
        "insult": INSULT, "dehumanising": DEHUMANISING, "group": GROUP, "figure": FIGURE,
        "sarcasm": SARCASM, "threat": THREAT, "reader": READER,
        "people_like_you": PEOPLE_LIKE_YOU, "third": THIRD, "wish": WISH, "copula": COPULA,
    }.items()
}
KINDS = (
    "people like you", "threat or harm wished", "dehumanising comparison",
    "insult aimed at the reader", "generalisation about a group", "insult of a public figure",
    "insult of a third person", "sarcasm marker, no insult word", "insult word, no target",
    "aimed at the reader, no insult word", "other (implicit)",
)


def kind_of(text: str) -> str:
    has = {name: rx.search(text) is not None for name, rx in RX.items()}
    someone = has["reader"] or has["third"] or has["group"] or has["figure"]
    if has["people_like_you"]:
        return KINDS[0]
    if has["threat"] and someone and has["wish"]:
        return KINDS[1]
    if has["dehumanising"] and someone and has["copula"]:
        return KINDS[2]
    if has["reader"] and has["insult"]:
        return KINDS[3]
    if has["group"] and not has["figure"]:
        return KINDS[4]
    if has["figure"] and has["insult"]:
        return KINDS[5]
    if has["third"] and has["insult"]:
        return KINDS[6]
    if has["sarcasm"] and not has["insult"]:
        return KINDS[7]
    if has["insult"]:
        return KINDS[8]
    if has["reader"]:
        return KINDS[9]
    return KINDS[10]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, action="append", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--load", type=Path, required=True)
    ap.add_argument("--rows", type=Path, help="write the DEV rows the engine got wrong")
    args = ap.parse_args()
    risk = Risk.BULLYING
    data = prepare(args.data, train_settings(), lambda _msg: None)
    rows = [
        r
        for r in data.where(lambda r: source_group(r.source) == args.source).whole
        if half_of(r.text) == "dev"
    ]
    trained = read_fold(args.load)
    classifier = trained.classifier()
    engine = Combiner(classifier)
    head = classifier.heads[risk]
    tau = head.profanity_tau if head.profanity_tau is not None else 1.1
    lexicon, _ = resolve_language(None)
    lex = lexicon.for_risk(risk)
    outcome: collections.Counter[tuple[bool, bool]] = collections.Counter()
    kinds: collections.Counter[tuple[str, str, str]] = collections.Counter()
    causes: collections.Counter[tuple[str, str]] = collections.Counter()
    written: list[str] = []
    for row in rows:
        text = row.text[:MAX_TEXT_LENGTH]
        gold = risk in gold_risks(row.labels)
        levels, _scores = _score_row(
            text, as_segment=False, sender=None, recipient=None, language=None, engine=engine
        )
        hit = levels.get(risk, RiskLevel.NONE) >= RiskLevel.LOW
        outcome[(gold, hit)] += 1
        if gold == hit:
            continue
        hits, ctx = collect_hits(text, lexicon, AgeBand.UNKNOWN, AgeBand.UNKNOWN)
        norm = ctx.norm.text
        raw = head.calibrated(classifier._margin_list(norm)[head.column])
        outside = classifier.outside(norm) or 0.0
        cue = any(h.risk is risk for h in hits)
        aimed = _blank(norm, ctx.excluded(lex)) if lex.exclude is not None else norm
        if lex.model_requires is not None and lex.model_requires.search(aimed):
            target = "target"
        elif lex.model_otherwise_requires is not None and lex.model_otherwise_requires.search(
            aimed
        ):
            target = "people in general"
        else:
            target = "no target"
        band = (
            "p<low" if raw < head.low else "low<=p<medium" if raw < head.medium else "p>=medium"
        )
        gate = "gate passed" if outside >= tau else "gate not passed"
        tag = "missed" if gold else "false alarm"
        context = "game talk" if ctx.gaming else ("laughing" if ctx.laughing else "")
        causes[(tag, f"{band}, {gate}, {'cue' if cue else 'no cue'}, {target}")] += 1
        if context:
            causes[(tag, f"softened as {context}")] += 1
        kind = kind_of(norm)
        kinds[(tag, kind, band)] += 1
        if args.rows:
            written.append(json.dumps(dict(
                kind=tag, sort=kind, band=band, gate=gate, cue=cue, target=target, p=raw,
                outside=outside, where=row.where, text=norm,
            )))
    shown = {f"gold={g} flagged={h}": n for (g, h), n in outcome.items()}
    print(f"{args.source} DEV: {shown}")
    print(f"thresholds: low {head.low:.3f} medium {head.medium:.3f}, gate tau {tau}")
    for tag in ("missed", "false alarm"):
        total = sum(n for (t, _k, _b), n in kinds.items() if t == tag)
        if not total:
            continue
        print(f"\n{tag}: {total}")
        for kind in KINDS:
            per = {b: n for (t, k, b), n in kinds.items() if t == tag and k == kind}
            if per:
                print(f"  {kind}: {sum(per.values())} {per}")
        print(f"  causes of the {tag} rows:")
        for (t, cause), n in sorted(causes.items(), key=lambda x: -x[1]):
            if t == tag:
                print(f"    {cause}: {n}")
    if args.rows:
        args.rows.write_text("\n".join(written), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
