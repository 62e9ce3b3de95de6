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
        key = (c.profile == profile) & (c.band == band) & (c.topic == topic)
        with self._db.engine.begin() as conn:
            row = conn.execute(sa.select(lesson_progress).where(key)).first()
            if row is None:
                conn.execute(lesson_progress.insert().values(
                    profile=profile, band=band, topic=topic, best_score=score, total=total,
                    attempts=1, completed_at=now))
            else:
                conn.execute(lesson_progress.update().where(key).values(
                    best_score=max(int(row.best_score), score), total=total,
                    attempts=int(row.attempts) + 1, completed_at=now))
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
