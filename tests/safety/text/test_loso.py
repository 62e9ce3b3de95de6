"""Leave one source out: the model alone and the whole engine, trained without the source and
measured on it (small generated sources; the real run is in docs/safety.md)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kidshield.cli import app
from kidshield.errors import InputError
from kidshield.safety.text.halves import half_of
from kidshield.safety.text.loso import leave_one_source_out
from kidshield.safety.text.train import TrainSettings

INSULTS = ["idiot", "loser", "freak", "clown", "moron", "waste of space", "pathetic", "joke"]
OPENERS = ["you are such a", "ur a", "everyone knows you're a", "shut up you", "lol you"]
CHAT = [
    "see you at practice tomorrow",
    "did you finish the maths homework",
    "that film was so good",
    "my mum made pancakes",
    "are you coming to the party saturday",
    "i got a new puppy",
    "the bus was late again",
    "what time is the match",
]
CRISIS = "i want to kill myself tonight, i have the pills ready"
SMALL = TrainSettings(min_df=1, max_words=2000, max_chars=4000)


def write(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def messages(name: str, seed: int, count: int = 160) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for i in range(count):
        if i % 2 == 0:
            text, labels = f"{rng.choice(OPENERS)} {rng.choice(INSULTS)}", ["bullying"]
        else:
            text, labels = f"{rng.choice(CHAT)} {rng.choice(['', 'lol', ':)'])}", ["benign"]
        rows.append({"id": f"{name}{i}", "text": text.strip(), "labels": labels})
    rows.append({"id": f"{name}-crisis", "text": CRISIS, "labels": ["self_harm"]})
    return rows


def conversation(cid: str, grooming: bool) -> list[dict[str, object]]:
    turns = (
        [
            ("mark", 34, "you're so mature for your age"),
            ("amy", 12, "thanks lol"),
            ("mark", 34, "don't tell your parents we talk, delete the chat"),
            ("amy", 12, "ok"),
            ("mark", 34, "come alone to the park saturday, i'll pick you up"),
        ]
        if grooming
        else [
            ("jo", 14, "wanna meet at the mall saturday?"),
            ("amy", 12, "yes! my mum can drive us"),
            ("jo", 14, "cool see you at 2"),
        ]
    )
    label = ["grooming"] if grooming else ["benign"]
    return [
        {
            "id": f"{cid}-{n}",
            "text": text,
            "labels": label if grooming and sender == "mark" else ["benign"],
            "conversation": cid,
            "turn": n,
            "sender": sender,
            "sender_age": age,
            "recipient": "amy" if sender != "amy" else ("mark" if grooming else "jo"),
            "at": f"2026-03-0{1 + n // 3}T18:0{n}:00Z",
            "stage": "secrecy" if grooming and sender == "mark" else None,
            "conversation_labels": label,
        }
        for n, (sender, age, text) in enumerate(turns)
    ]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loso")
    write(root / "alpha.jsonl", messages("a", 1))
    write(root / "beta.jsonl", messages("b", 2))
    rows = []
    for n in range(6):
        rows += conversation(f"c{n}", grooming=n % 3 == 0)
    write(root / "conversations" / "chats.jsonl", rows)
    return root


def test_source_left_out_is_measured_by_the_model_and_by_the_whole_engine(data: Path) -> None:
    results = leave_one_source_out([data], SMALL, only=["alpha"])
    assert list(results) == ["alpha"]
    alpha = results["alpha"]
    assert alpha["risks"]["bullying"]["support"] == 80
    assert "self_harm" not in alpha["risks"]  # no self-harm head: nothing to train it on
    engine = {row["risk"]: row for row in alpha["engine"]["risks"]}
    assert alpha["engine"]["total"] == 161
    assert engine["bullying"]["support"] == 80
    assert engine["bullying"]["recall"] > 0.5
    # the whole engine has the cues and the hard rules the model alone lacks
    assert engine["self_harm"]["tp"] == 1
    assert "conversations" not in alpha


def test_conversations_are_measured_whole_with_and_without_ages(data: Path) -> None:
    results = leave_one_source_out([data], SMALL, only=["conversations"])
    whole = results["conversations"]["conversations"]
    assert whole["conversations"] == 6 and whole["grooming"] == 2
    for view in ("with_ages", "bare"):
        assert whole[view]["support"] == 2
        assert whole[view]["tp"] + whole[view]["fn"] == 2
    assert whole["with_ages"]["tp"] == 2  # secrecy and a meeting from an adult to a 12-year-old


def test_model_only_leaves_the_engine_out(data: Path) -> None:
    results = leave_one_source_out([data], SMALL, only=["beta"], whole_engine=False)
    assert "engine" not in results["beta"] and results["beta"]["risks"]


def test_unknown_source_is_a_clear_error(data: Path) -> None:
    with pytest.raises(InputError, match="'gamma': no such source; sources: alpha, beta"):
        leave_one_source_out([data], SMALL, only=["gamma"])


def test_cli_prints_model_and_engine_rows(data: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "text", "--loso", "--data", str(data), "--source", "beta"]
    )
    assert result.exit_code == 0, result.output
    assert "engine" in result.output and "model" in result.output


def test_halves_split_the_source_by_a_hash_of_its_text(data: Path) -> None:
    results = leave_one_source_out([data], SMALL, only=["alpha"], halves=True)
    halves = results["alpha"]["engine_halves"]
    assert set(halves) == {"dev", "test"}
    assert halves["dev"]["total"] + halves["test"]["total"] == results["alpha"]["engine"]["total"]
    assert halves["dev"]["total"] > 0 and halves["test"]["total"] > 0
    result = CliRunner().invoke(
        app,
        ["eval", "text", "--loso", "--data", str(data), "--source", "alpha", "--halves", "--json"],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout[result.stdout.index("{") :])
    assert set(printed["alpha"]["engine_halves"]) == {"dev", "test"}


def test_half_of_ignores_case_and_spacing_and_is_stable() -> None:
    assert half_of("I hate  Women.") == half_of("i hate women.")
    # pinned: the halves must not move between runs or releases (docs/safety.md reports them)
    assert [half_of(t) for t in ("I hate women.", "I'm a gay man.", "hello")] == [
        "dev",
        "test",
        "dev",
    ]


def test_benign_any_risk_counts_only_conversations_labelled_benign() -> None:
    """A sextortion scam that is not grooming is no benign conversation: before the eleventh
    session it was counted, and flagged, as one (the first writer's ten such scams)."""
    from kidshield.safety.text.assess import combiner
    from kidshield.safety.text.loso import conversation_figures
    from kidshield.safety.text.state import Message
    from kidshield.safety.text.trainconv import Conversation

    scam = Conversation("conversations", "sextortion-001", "test", False,
                        labels=frozenset({"sextortion"}))
    scam.messages = [Message("fake_girl", "i have ur pics. pay $300 or i send them to all "
                                          "ur followers")]
    chat = Conversation("conversations", "benign-peers-001", "test", False,
                        labels=frozenset({"benign"}))
    chat.messages = [Message("a", "see you at practice tomorrow"), Message("b", "yeah!")]
    figures = conversation_figures([scam, chat], combiner())
    for view in ("with_ages", "bare"):
        assert figures[view]["benign_any_risk"] == 0.0
