"""`kidshield scan` and `kidshield eval text` (typer CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kidshield.cli import app


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n",
        encoding="utf-8",
    )
    return path


def test_scan_writes_one_result_per_line_without_original_text(tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "text": "my number is 07700 900123"},
            {"id": "b", "text": "gg rematch?"},
            {"id": "c", "text": "kys", "sender": "teen", "recipient": "teen"},
        ],
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["scan", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["findings"][0]["risk"] == "personal_info"
    assert rows[1]["level"] == "none"
    assert rows[2]["level"] == "high"
    assert "07700" not in out.read_text()
    assert "redacted" not in rows[0]


def test_scan_redact_option_stores_the_redacted_copy(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": "my email is jo@example.com"}])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["scan", str(source), "--out", str(out), "--redact"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["redacted"] == "my email is [email]"


def test_scan_reports_bad_lines_and_carries_on(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", ["not json", {"text": "hello"}])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["scan", str(source), "--out", str(out)])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0] == {"line": 1, "error": "not valid JSON (Expecting value)"}
    assert rows[1]["level"] == "none"


def test_scan_of_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "file not found" in result.output


def test_eval_text_prints_scores_and_confusion(tmp_path: Path) -> None:
    corpus = tmp_path / "c.csv"
    corpus.write_text("text,label\nkys,1\nsee you later,0\ni want to die,2\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "eval", "text", str(corpus), "--text-col", "text", "--label-col", "label",
            "--map", "1=bullying", "--map", "0=none", "--map", "2=self_harm", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    bullying = next(r for r in report["risks"] if r["risk"] == "bullying")
    assert bullying["f1"] == 1.0
    assert report["false_positive_rate"] == 0.0


def test_eval_text_table_output(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    write_jsonl(corpus, [{"m": "kys", "l": "bullying"}, {"m": "hi", "l": "none"}])
    result = CliRunner().invoke(
        app, ["eval", "text", str(corpus), "--text-col", "m", "--label-col", "l"]
    )
    assert result.exit_code == 0, result.output
    assert "precision" in result.output
    assert "confusion" in result.output


def test_eval_text_with_unknown_label_explains_map(tmp_path: Path) -> None:
    corpus = tmp_path / "c.csv"
    corpus.write_text("text,label\nkys,toxic\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["eval", "text", str(corpus), "--text-col", "text", "--label-col", "label"]
    )
    assert result.exit_code == 2
    assert "--map" in result.output


def test_scan_conversations_tracks_each_conversation_separately(tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "chats.jsonl",
        [
            {"conversation": "c1", "sender": "mark", "sender_age": "adult",
             "text": "you're so mature for your age", "at": "2026-03-01T18:00:00Z"},
            {"conversation": "c2", "sender": "jo", "sender_age": 14,
             "text": "wanna meet at the mall saturday?", "at": "2026-03-01T18:00:30Z"},
            {"conversation": "c1", "sender": "amy", "sender_age": 12,
             "text": "thanks lol", "at": "2026-03-01T18:01:00Z"},
            {"conversation": "c1", "sender": "mark",
             "text": "don't tell your parents we talk", "at": "2026-03-01T18:02:00Z"},
        ],
    )  # fmt: skip
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["scan", str(source), "--out", str(out), "--conversations"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[1]["conversation"] == {"id": "c2", "level": "none", "findings": []}
    last = rows[3]["conversation"]
    assert last["level"] in ("high", "imminent")
    assert last["findings"][0]["direction"] == "mark>amy"
    assert set(last["findings"][0]["stages"]) >= {"rapport", "secrecy"}


def test_scan_conversations_needs_a_conversation_id(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "chats.jsonl", [{"sender": "a", "text": "hi"}])
    out = tmp_path / "out.jsonl"
    CliRunner().invoke(app, ["scan", str(source), "--out", str(out), "--conversations"])
    assert "conversation id" in json.loads(out.read_text())["error"]


def test_scan_keeps_going_past_lines_it_cannot_use(tmp_path: Path) -> None:
    """Each line that cannot be used gets an error result and the scan goes on (docs/safety.md):
    JSON nested past the parser's stack, a language or an age of the wrong type, a line in
    another encoding; a byte-order mark before the first line is not an error."""
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"id": "bom", "text": "hi"}).encode() + b"\n"
        + b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}\n"
        + json.dumps({"text": "hi", "language": 5}).encode() + b"\n"
        + json.dumps({"text": "hi", "sender": True}).encode() + b"\n"
        + json.dumps({"text": "hi", "recipient": [12]}).encode() + b"\n"
        + '{"text": "café"}\n'.encode("latin-1")
        + json.dumps({"id": "last", "text": "gg rematch?"}).encode() + b"\n"
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["scan", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r.get("id") for r in rows] == ["bom", None, None, None, None, None, "last"]
    errors = [r["error"] for r in rows[1:6]]
    assert errors == [
        "not valid JSON (nested too deeply)",
        "language: expected a language code like 'en', not 5",
        "sender: expected an age band or an age, not True",
        "recipient: expected an age band or an age, not [12]",
        "not UTF-8 text",
    ]


def test_scan_conversations_refuses_times_out_of_range_per_line(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "chats.jsonl", [
        {"conversation": "c1", "sender": "a", "text": "hi", "at": 1e30},
        '{"conversation": "c1", "sender": "a", "text": "hi", "at": NaN}',
        {"conversation": "c1", "sender": "a", "text": "hi", "sender_age": [1]},
        {"conversation": "c1", "sender": "a", "text": "hi", "at": 1700000000},
    ])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["scan", str(source), "--out", str(out), "--conversations"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["error"] == "conversation c1.at: 1e+30 is not a time: Unix seconds from " \
        "year 1 to 9999"
    assert rows[1]["error"] == "conversation c1.at: expected a number, got nan"
    assert rows[2]["error"] == "participants.a: expected an age band or an age, not [1]"
    assert rows[3]["conversation"]["level"] == "none"
