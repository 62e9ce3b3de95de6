"""Lesson progress per child profile: the best quiz score per lesson, on this server only.

Nothing leaves the server and nothing identifies the child beyond the profile id the parent
chose; a profile sees only its own progress, parents see all of their profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from kidshield.storage.db import Database
from kidshield.storage.schema import lesson_progress
from kidshield.storage.upsert import upsert


@dataclass(frozen=True, slots=True)
class Progress:
    profile: str
    band: str
    topic: str
    best_score: int
    total: int
    attempts: int
    completed_at: datetime


class ProgressStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, profile: str, band: str, topic: str, score: int, total: int,
               now: datetime) -> Progress:
        c = lesson_progress.c
        # one statement: a read, then a write of what was read plus one, lost one of two
        # attempts finished at once on two servers
        with self._db.engine.begin() as conn:
            upsert(conn, lesson_progress, {
                "profile": profile, "band": band, "topic": topic, "best_score": score,
                "total": total, "attempts": 1, "completed_at": now,
            }, keys=["profile", "band", "topic"], update=lambda new: {
                "best_score": sa.case((c.best_score >= new.best_score, c.best_score),
                                      else_=new.best_score),
                "total": new.total, "attempts": c.attempts + 1,
                "completed_at": new.completed_at,
            })
        found = self.for_profile(profile)
        return next(p for p in found if (p.band, p.topic) == (band, topic))

    def for_profile(self, profile: str) -> list[Progress]:
        return self._select(lesson_progress.c.profile == profile)

    def all(self) -> list[Progress]:
        return self._select(sa.true())

    def _select(self, where: sa.ColumnElement[bool]) -> list[Progress]:
        c = lesson_progress.c
        query = sa.select(lesson_progress).where(where).order_by(c.profile, c.band, c.topic)
        with self._db.engine.connect() as conn:
            return [Progress(**r._asdict()) for r in conn.execute(query)]
