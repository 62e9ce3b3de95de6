"""Does a message name a place someone could find, and where in it? The gate of the learned
whereabouts head (:mod:`whereabouts`): the head is scored only where this finds a place, and
the place is the finding's span (so redaction and the explanation point at it).

Written from the shapes a findable place takes (a proper-noun place after a location
preposition, "on X road", "at the X in Y", a numbered bus or route, a school's name, a house
number or a postcode) before any row was scored with it (thirteenth session,
``scripts/place_gate.py``); the word lists are closed classes (determiners, pronouns, days,
months, school subjects, apps) and street and school words, not words taken from any set's
misses. It reads the original text: a capital letter is part of what makes "at Tesco" a place.
``case_blind=True`` drops the one shape that needs capitals (to measure what missing
capitals cost). Known holes (docs/safety.md): "wot school u at" passes the school shape and
"rainbow road" (a game track) the street shape.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PREP = r"(?:at|in|near|outside|behind|opposite|by|around|round|past|across|inside)"
# closed classes a name slot must not be: they make "at the park by myself" look named
GENERIC = _words(
    """
    a an the my your his her its our their this that these those same other another any some
    every each no one first last next right wrong whole own old new big little main local
    i me you him her it us them myself yourself himself herself itself ourselves themselves
    here there where home now then today tonight tomorrow rn atm lol like about around just
    so too very really case time times ages bit minute minutes mins min hour hours sec secs
    second seconds few while moment way front back middle top bottom end side corner edge
    morning afternoon evening night day week weekend rain sun snow dark summer winter spring
    autumn fall town city country village area world house place room bed class
    at to from in on by for of after before with without into onto up down off out over under
    and or but if as is was are be been am
    high middle elementary primary secondary junior senior grammar public private boarding
    summer sunday night driving dance art music swim swimming cooking language film med law
    grade graduate nursery pre preschool secondary
    """
)
DAYS_MONTHS = _words(
    """
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thurs fri
    sat sun january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec christmas easter halloween
    """
)
# capitalised words after "in/at" that are not places: subjects, languages, apps, games
NOT_PLACES = _words(
    """
    i im english maths math science french spanish german history geography art music pe re
    drama biology chemistry physics computing latin ict it snapchat snap instagram insta
    tiktok discord roblox minecraft fortnite youtube netflix whatsapp facebook messenger
    twitter reddit google zoom teams xbox playstation ps5 switch steam twitch facetime
    mum mom dad mam nan gran grandma grandpa granny nana auntie aunt uncle god jesus lord
    """
)
_STREET = (
    r"(?:road|rd|street|st|lane|ln|avenue|ave|drive|dr|close|crescent|terrace|boulevard|blvd"
    r"|highway|hwy|way|court|ct|place|pl|square|sq|parade|grove|gardens|row|mews|hill)"
)
_WORD = r"[a-z0-9][a-z0-9'.-]*"
_STREET_RE = re.compile(
    rf"\b(?:on|at|off|in|along|down|up|near|by|to|from|of)\s+(?:the\s+)?"
    rf"({_WORD}(?:\s+{_WORD})?)\s+{_STREET}\b",
    re.IGNORECASE,
)
_HOUSE_RE = re.compile(
    rf"\b\d{{1,5}}[a-z]?\s+[a-z][a-z'-]+(?:\s+[a-z][a-z'-]+)?\s+{_STREET}\b", re.I
)
_NUMBERED_RE = re.compile(
    r"\b(?:bus|route|line|tram|train|platform|stop|apt|apartment|flat|unit|block|building"
    r"|exit|junction|pier|dock|terminal)\s*(?:no\.?\s*|number\s*|#\s*)?\d+[a-z]?\b"
    r"|\b\d+[a-z]?\s+bus\b",
    re.IGNORECASE,
)
_SCHOOL_RE = re.compile(
    r"\b([a-z][a-z'.-]+)\s+(?:(?:high|middle|elementary|primary|secondary|junior|senior|grammar"
    r"|community|catholic|prep|c\s*of\s*e)\s+)?(?:school|academy|high|elementary|middle"
    r"|primary|college|prep|secondary|grammar)\b",
    re.IGNORECASE,
)
_AT_THE_IN_RE = re.compile(
    r"\bat\s+the\s+[a-z]+(?:\s+[a-z]+)?\s+(?:in|on|by|near|off)\s+([a-z][a-z'-]{2,})",
    re.IGNORECASE,
)
_POSTCODE_RE = re.compile(r"\b[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}\b", re.IGNORECASE)
# a capitalised word (or an all-caps shop name) after a location preposition, not "'s"
_PROPER_RE = re.compile(
    rf"\b{_PREP}\s+(?:the\s+)?([A-Z][a-zA-Z'-]*[a-zA-Z]|[A-Z]{{2,}})(?!'s|’s)\b",
    re.IGNORECASE,
)


# cheap tests of what each shape needs, so most messages skip the costlier patterns (the
# decisions are the same: a street shape ends in a street word, a school shape in a school
# word, and the house, numbered and postcode shapes hold a digit)
_HAS_STREET_RE = re.compile(rf"\b{_STREET}\b", re.IGNORECASE)
_HAS_SCHOOL_RE = re.compile(
    r"\b(?:school|academy|high|elementary|middle|primary|college|prep|secondary|grammar)\b",
    re.IGNORECASE,
)
_HAS_DIGIT_RE = re.compile(r"\d")


def _named(word: str) -> bool:
    w = word.lower().strip("'.-")
    return bool(w) and w not in GENERIC and w not in DAYS_MONTHS


def find_place(text: str, *, case_blind: bool = False) -> tuple[int, int] | None:
    """``[start, end)`` of the first findable place in ``text`` (see the module's doc), or
    None. The checks run in a fixed order and the first that finds one decides."""
    street = _HAS_STREET_RE.search(text) is not None
    if street:
        for match in _STREET_RE.finditer(text):
            words = match.group(1).split()
            if all(_named(w) for w in words[-1:]) and _named(words[0]):
                return match.start(1), match.end()
    if _HAS_DIGIT_RE.search(text):
        for shape in (_HOUSE_RE, _NUMBERED_RE, _POSTCODE_RE):
            if shape is _HOUSE_RE and not street:
                continue
            found = shape.search(text)
            if found:
                return found.span()
    if _HAS_SCHOOL_RE.search(text):
        for match in _SCHOOL_RE.finditer(text):
            if _named(match.group(1)):
                return match.start(1), match.end()
    for match in _AT_THE_IN_RE.finditer(text):
        if _named(match.group(1)):
            start = match.start() + 2  # "the mall in leeds", not "at"
            while text[start].isspace():
                start += 1
            return start, match.end()
    if case_blind:
        return None
    for match in _PROPER_RE.finditer(text):
        word = match.group(1)
        # the preposition may be any case, the name must be written with a capital
        if word.lower().endswith(("'s", "’s")):  # someone's house: not findable
            continue
        if word[0].isupper() and word.lower() not in NOT_PLACES and _named(word):
            return match.span(1)
    return None
