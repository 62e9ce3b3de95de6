"""A writer's own age as stated in a message ("im 13", "14 f", "im in 8th grade", "year 9").

Platforms often do not know who is a child; chat logs state it in the text. The conversation
tracker takes a stated age as the participant's age when the platform gave none (see
``data/<lang>/common.toml`` ``[ages]``). Only first-person statements count, and only ages
between 8 and 80: "my sister is 13", "im 5 min away" and "im 100% sure" state nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

YOUNGEST, OLDEST = 8, 80
GRADE_TO_AGE = 5  # a US 8th grader is 13 or 14: the younger
YEAR_TO_AGE = 4  # a UK year 9 pupil is 13 or 14: the younger


@dataclass(frozen=True, slots=True)
class StatedAge:
    patterns: tuple[re.Pattern[str], ...]
    ordinals: Mapping[str, int]
    school: Mapping[str, int]

    def find(self, normalised: str) -> int | None:
        """The first age the writer states about themselves, or None."""
        for pattern in self.patterns:
            for match in pattern.finditer(normalised):
                age = self._age(match)
                if age is not None and YOUNGEST <= age <= OLDEST:
                    return age
        return None

    def _age(self, match: re.Match[str]) -> int | None:
        groups = match.groupdict()
        if groups.get("age"):
            return int(groups["age"])
        if groups.get("grade"):
            grade = groups["grade"]
            number = int(grade) if grade.isdigit() else self.ordinals.get(grade)
            return None if number is None or number > 12 else number + GRADE_TO_AGE
        if groups.get("year"):
            year = int(groups["year"])
            return year + YEAR_TO_AGE if 1 <= year <= 13 else None
        if groups.get("level"):
            return self.school.get(groups["level"])
        return None
