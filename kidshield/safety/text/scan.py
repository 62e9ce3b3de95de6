"""Bulk scanning of JSONL lines: one result dict per input line (used by ``kidshield scan``).

Message mode (default): each line is ``{"text": ..., "id"?: ..., "sender"?: band or age,
"recipient"?: band or age, "language"?: ...}``.

Conversation mode: lines are messages of conversations, in order: ``{"conversation": id,
"sender": participant id, "text": ..., "at"?: time, "recipient"?: participant id,
"sender_age"?: band or age}``. Each result adds the conversation's level and findings so far.

Results never contain the original text; with ``redact`` they hold the redacted copy when
personal information was found.
"""

from __future__ import annotations

import json
from typing import Any

from kidshield.errors import KidshieldError
from kidshield.safety.text.assess import assess_message
from kidshield.safety.text.conversation import ConversationTracker
from kidshield.safety.text.model import RiskLevel
from kidshield.safety.text.state import Message


class Scanner:
    def __init__(
        self,
        *,
        text_field: str = "text",
        redact: bool = False,
        language: str | None = None,
        conversations: bool = False,
    ) -> None:
        self.text_field = text_field
        self.redact = redact
        self.language = language
        self.conversations = conversations
        self._trackers: dict[str, ConversationTracker] = {}

    def line(self, raw: str, number: int) -> dict[str, Any]:
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            return {"line": number, "error": f"not valid JSON ({exc.msg})"}
        except RecursionError:  # "[[[[..." deeper than the parser's stack
            return {"line": number, "error": "not valid JSON (nested too deeply)"}
        if not isinstance(row, dict) or not isinstance(row.get(self.text_field), str):
            return {
                "line": number,
                "error": f"expected an object with a string {self.text_field!r}",
            }
        out: dict[str, Any] = {"line": number}
        if "id" in row:
            out["id"] = row["id"]
        try:
            if self.conversations:
                out.update(self._conversation_line(row))
            else:
                result = assess_message(
                    row[self.text_field],
                    sender=row.get("sender"),
                    recipient=row.get("recipient"),
                    language=row.get("language", self.language),
                )
                out.update(result.to_dict(include_redacted=self.redact))
        except KidshieldError as exc:
            return {"line": number, "error": str(exc)}
        return out

    def _conversation_line(self, row: dict[str, Any]) -> dict[str, Any]:
        conversation = row.get("conversation")
        if not isinstance(conversation, str | int) or isinstance(conversation, bool):
            raise KidshieldError("conversation: a conversation id (string or number) is required")
        key = str(conversation)
        tracker = self._trackers.get(key)
        if tracker is None:
            tracker = ConversationTracker(language=row.get("language", self.language))
            self._trackers[key] = tracker
        message = Message.from_dict(
            {**row, "text": row[self.text_field]}, where=f"conversation {key}"
        )
        if row.get("sender_age") is not None:
            tracker.set_participant(message.sender, row["sender_age"])
        assessment = tracker.add(message)
        findings = tracker.last_findings
        out = assessment.to_dict(include_redacted=self.redact)
        out["conversation"] = {
            "id": conversation,
            "level": max((f.level for f in findings), default=RiskLevel.NONE).label,
            "findings": [
                {
                    "risk": f.risk.value,
                    "level": f.level.label,
                    "score": round(f.score, 3),
                    "stages": list(f.stages),
                    "direction": f.pair,
                }
                for f in findings
            ],
        }
        return out
