"""The evaluation harness reads CSV/JSONL corpora and reports per-risk scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kidshield.errors import InputError
from kidshield.safety.text.evaluate import evaluate, parse_mapping, read_corpus
from kidshield.safety.text.model import Risk

SMALL_CSV = """id,message,label
1,kys,1
2,gg that round was close,0
3,i want to die,2
4,you're such a loser,1
5,this homework is killing me,0
6,see you at practice,0
"""


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    path = tmp_path / "small.csv"
    path.write_text(SMALL_CSV, encoding="utf-8")
    return path


def test_small_csv_with_mapped_labels_gives_perfect_scores(small_csv: Path) -> None:
    mapping = parse_mapping(["1=bullying", "2=self_harm", "0=none"])
    report = evaluate(read_corpus(small_csv, "message", "label", mapping))
    scores = {s.risk: s for s in report.risks}
    assert report.total == 6
    assert scores[Risk.BULLYING].tp == 2
    assert scores[Risk.BULLYING].precision == 1.0
    assert scores[Risk.SELF_HARM].recall == 1.0
    assert report.false_positive_rate == 0.0
    assert report.confusion[("bullying", "bullying")] == 2
    assert report.confusion[("none", "none")] == 3


def test_f_scores_follow_their_definitions(small_csv: Path) -> None:
    mapping = parse_mapping(["1=bullying", "2=bullying", "0=none"])
    report = evaluate(read_corpus(small_csv, "message", "label", mapping))
    bullying = next(s for s in report.risks if s.risk is Risk.BULLYING)
    assert (bullying.tp, bullying.fp, bullying.fn) == (2, 0, 1)
    assert bullying.f_beta(1.0) == pytest.approx(2 * 1.0 * (2 / 3) / (1.0 + 2 / 3))
    assert bullying.f_beta(0.5) == pytest.approx(1.25 * (2 / 3) / (0.25 + 2 / 3))


def test_jsonl_with_multiple_labels_per_row(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    rows = [
        {"t": "i'll send your nudes to everyone unless you pay", "y": "sextortion;sexual_content"},
        {"t": "morning!", "y": "none"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    examples = read_corpus(path, "t", "y")
    assert examples[0].gold == {Risk.SEXTORTION, Risk.SEXUAL_CONTENT}
    report = evaluate(examples)
    assert next(s for s in report.risks if s.risk is Risk.SEXTORTION).tp == 1


def test_jsonl_labels_given_as_a_list_are_read_like_joined_labels(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    rows = [
        {"text": "my number is 07700 900123", "labels": ["personal_info"]},
        {"text": "see you at practice", "labels": ["benign"]},
        {"text": "kys loser", "labels": ["bullying", "self_harm"]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    examples = read_corpus(path, "text", "labels")
    assert [e.gold for e in examples] == [
        {Risk.PERSONAL_INFO},
        frozenset(),
        {Risk.BULLYING, Risk.SELF_HARM},
    ]


def test_unmapped_label_names_the_line_and_suggests_map(small_csv: Path) -> None:
    with pytest.raises(InputError, match=r"small\.csv:2: label '1'.*--map 1=RISK"):
        read_corpus(small_csv, "message", "label")


def test_missing_column_lists_the_columns(small_csv: Path) -> None:
    with pytest.raises(InputError, match="no column 'text'; columns: id, message, label"):
        read_corpus(small_csv, "text", "label")


def test_bad_map_item_is_explained() -> None:
    with pytest.raises(InputError, match="LABEL=RISK"):
        parse_mapping(["bullying"])
    with pytest.raises(InputError, match="not one of"):
        parse_mapping(["1=toxicity"])


def test_tsv_is_read_as_tab_separated(tmp_path: Path) -> None:
    path = tmp_path / "c.tsv"
    path.write_text("text\tlabel\nkys, loser\t1\nsee you later, ok\t0\n", encoding="utf-8")
    examples = read_corpus(path, "text", "label", parse_mapping(["1=bullying", "0=none"]))
    assert [e.text for e in examples] == ["kys, loser", "see you later, ok"]
    assert examples[0].where.endswith("c.tsv:2")


def test_overlong_text_is_cut_and_counted_not_an_error(tmp_path: Path) -> None:
    from kidshield.safety.text.assess import MAX_TEXT_LENGTH

    path = tmp_path / "long.jsonl"
    long_text = "i want to die. " + "la " * MAX_TEXT_LENGTH
    rows = [{"t": long_text, "y": "self_harm"}, {"t": "hello", "y": "none"}]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    report = evaluate(read_corpus(path, "t", "y"))
    assert report.truncated == 1
    assert report.total == 2


def test_roc_and_pr_auc_follow_their_definitions() -> None:
    import numpy as np

    from kidshield.safety.text.evaluate import average_precision, roc_auc

    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    truth = np.array([True, False, True, False, False, False])
    # positives outrank 4 + 3 of the 2 x 4 positive/negative pairs
    assert roc_auc(scores, truth) == pytest.approx(7 / 8)
    # precision 1/1 at the first positive, 2/3 at the second
    assert average_precision(scores, truth) == pytest.approx((1 + 2 / 3) / 2)
    assert roc_auc(scores, np.zeros(6, dtype=bool)) is None
    tied = np.array([0.5, 0.5])
    assert roc_auc(tied, np.array([True, False])) == pytest.approx(0.5)


def test_report_has_auc_and_benign_flagged_per_risk(small_csv: Path) -> None:
    mapping = parse_mapping(["1=bullying", "2=self_harm", "0=none"])
    report = evaluate(read_corpus(small_csv, "message", "label", mapping)).to_dict()
    bullying = next(r for r in report["risks"] if r["risk"] == "bullying")
    assert bullying["roc_auc"] == 1.0
    assert bullying["pr_auc"] == 1.0
    assert bullying["benign_flagged"] == 0


def test_chat_segments_are_scored_as_conversations(tmp_path: Path) -> None:
    segment = "\n".join(
        [
            "user1: hey how was school",
            "user2: boring lol",
            "user1: want to see the new film friday?",
            "user2: yes!! my dad can drive us",
        ]
    )
    path = tmp_path / "segments.jsonl"
    path.write_text(json.dumps({"text": segment, "label": "none"}) + "\n", encoding="utf-8")
    examples = read_corpus(path, "text", "label")
    report = evaluate(examples)
    assert report.segments == 1
    assert report.flagged_benign == 0
    assert evaluate(examples, segments="off").segments == 0
