"""Detections become cases in the same queue as people's reports. These adapters take plain
data, so they work whether or not the text engine or the hash banks are installed.

- ``case_from_text_assessment``: findings from ``safety.text`` (objects with ``reason``,
  ``score`` and ``level``, or ``(reason, score[, level])`` tuples, or dicts) for one message or
  conversation.
- ``case_from_hash_match``: one hash-bank match (abuse material), de-duplicated by hash.
- ``import_media_matches``: every new row of ``media_match_records`` (the hash banks' audit of
  matches), once each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kidshield.reports.model import CaseType, Source, case_type_for
from kidshield.reports.service import NewReport, Receipt, ReportService

if TYPE_CHECKING:
    from kidshield.config import Config

# Engine scores at or above this on self-harm or grooming are treated as imminent danger.
IMMINENT_SCORE = 0.95
# ... and so is the engine's own imminent level: a conversation keeps it after an imminent
# message while its score is the decayed evidence, below IMMINENT_SCORE
IMMINENT_LEVEL = "imminent"
IMMINENT_TYPES = (CaseType.SELF_HARM, CaseType.GROOMING)


def _finding(item: Any) -> tuple[str, float, str]:
    """(reason, score, level name); the level is the engine's ``RiskLevel`` (its ``label``)
    or its name, "" when the caller gave none."""
    if isinstance(item, Mapping):
        reason, score, level = item["reason"], item.get("score", 0.0), item.get("level", "")
    elif isinstance(item, tuple):
        reason, score, level = item[0], item[1], item[2] if len(item) > 2 else ""
    else:
        reason, score, level = item.reason, getattr(item, "score", 0.0), getattr(
            item, "level", "")
    return str(reason), float(score), str(getattr(level, "label", level)).lower()


def is_imminent(reason: str, score: float, level: str = "") -> bool:
    """The one rule for imminent danger from a text-engine finding: self-harm or grooming
    (sextortion and sexual content are grooming cases) at the imminent level or score."""
    return case_type_for(reason) in IMMINENT_TYPES and (
        level == IMMINENT_LEVEL or score >= IMMINENT_SCORE)


def case_from_text_assessment(
    service: ReportService,
    findings: Iterable[Any] | Any,
    *,
    conversation: str,
    account: str | None = None,
    excerpt: str = "",
    url: str | None = None,
) -> Receipt | None:
    """Open (or add to) the conversation's case from text-engine findings; None when there
    are no findings. The strongest finding (an imminent one first, else the highest score)
    sets the type; the excerpt is kept as evidence text, shown blurred to staff."""
    items = getattr(findings, "findings", findings)  # an Assessment or its findings
    found = [_finding(f) for f in items]
    if not found:
        return None
    # an imminent finding sets the type even beside a higher score of another risk
    reason, score, level = max(found, key=lambda f: (is_imminent(*f), f[1]))
    case_type = case_type_for(reason)
    imminent = is_imminent(reason, score, level)
    pairs = [(r, s) for r, s, _level in found]
    return service.submit(
        NewReport(
            source=Source.TEXT_ENGINE,
            case_type=case_type,
            url=url,
            account=account,
            description=excerpt[:4000],
            imminent_danger=imminent,
            score=score,
            conversation=conversation,
            detail={"findings": [{"reason": r, "score": round(s, 3)} for r, s in pairs]},
        )
    )


def case_from_hash_match(
    service: ReportService,
    *,
    bank: str,
    matched_hash: str,
    query_hash: str | None = None,
    distance: int = 0,
    caller: str = "",
    url: str | None = None,
    hash_algorithm: str = "pdq",
    media_record_id: int | None = None,
) -> Receipt:
    """Open (or add to) the case for a matched hash. Hashes only: no image is ever stored."""
    return service.submit(
        NewReport(
            source=Source.HASH_MATCH,
            case_type=CaseType.ABUSE_MATERIAL,
            url=url,
            description=f"hash match in bank {bank!r} (distance {distance})",
            score=max(0.0, 1.0 - distance / 256),
            file_hash=matched_hash,
            detail={"bank": bank, "query_hash": query_hash, "distance": distance,
                    "caller": caller, "hash_algorithm": hash_algorithm},
            media_record_id=media_record_id,
        )
    )


def import_new_media_matches(service: ReportService, config: Config,
                             limit: int = 1000) -> list[Receipt]:
    """``import_media_matches`` for records still inside the reports retention period (older
    ones were deleted on purpose and must not come back as cases)."""
    from kidshield.reports.retention import RetentionSchedule

    now = service.clock.now()
    since = RetentionSchedule.from_config(config).cutoff("reports", now)
    return import_media_matches(service, since or datetime(1970, 1, 1, tzinfo=UTC), limit)


def import_media_matches(service: ReportService, since: datetime,
                         limit: int = 1000) -> list[Receipt]:
    """Turn hash-bank match records (``media_match_records``) recorded since ``since`` and not
    imported yet into cases. Safe to run repeatedly (each record is imported once); ``since``
    keeps records older than the reports retention from coming back after deletion."""
    return [
        case_from_hash_match(
            service, bank=m.bank, matched_hash=m.matched_hash, query_hash=m.query_hash,
            distance=m.distance, caller=m.caller, media_record_id=m.record_id,
        )
        for m in service.store.new_media_matches(since, limit)
    ]
