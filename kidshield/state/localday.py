"""How long the local date of a time zone stays what it is at some instant.

A profile's minutes used are counted on its own local day, so whatever is built from them
holds until that day ends: at the next local midnight, or sooner when the zone's offset from
UTC changes (daylight saving time, a zone that changed its rules): a change can move the
wall clock across midnight, either way."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

# Offset changes are looked for at this step, then pinned down to the microsecond: two
# changes that cancel out within one step would be missed (the tz database has none).
_STEP = timedelta(hours=1)
_TINY = timedelta(microseconds=1)


def _offset(at: datetime, tz: tzinfo) -> timedelta:
    return at.astimezone(tz).utcoffset() or timedelta(0)


def local_day(now: datetime, tz: tzinfo) -> tuple[date, datetime]:
    """The local date in ``tz`` at ``now`` (aware) and the first instant after ``now`` at which
    it may no longer be: the next local midnight at today's offset, or the next change of
    the offset when that comes first. From ``now`` up to (not including) that instant the
    local date is the one returned."""
    local = now.astimezone(tz)
    offset = local.utcoffset() or timedelta(0)
    day = local.date()
    midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) - offset
    same = now
    while same < midnight:
        probe = min(same + _STEP, midnight - _TINY)
        if _offset(probe, tz) == offset:
            if probe == midnight - _TINY:
                break
            same = probe
            continue
        # the offset changed in (same, probe]: find the first instant it differs
        while probe - same > _TINY:
            mid = same + (probe - same) / 2
            if _offset(mid, tz) == offset:
                same = mid
            else:
                probe = mid
        return day, probe
    return day, midnight
