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
capitals cost).

The fifteenth session added shapes read off the DEV halves' whereabouts rows the gate shut
(docs/safety-log.md): a town after "from", an age then a town at the start of a message
("12 m hull"), a numbered route and where it goes ("the 412 to Westfield"), a name after "go
to", and the prepositions, street and school words of the other languages the writers use; and
closed the three known false holes: a question word is not a school's name ("wot school u at"),
"good at" is a skill, not a place ("good at rainbow road"), and a name does not run over a full
stop ("in cardiff. close").
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PREP = r"(?:at|in|near|outside|behind|opposite|by|around|round|past|across|inside|from)"
# the same in the languages the writers use (a capitalised name must still follow): "de Bari",
# "à Nantes", "w Krakowie", "dari Surabaya", "bei Edeka", "taga Cavite"
_PREP_OTHER = (
    r"(?:de|del|della|en|à|au|aux|em|w|we|din|dari|di|alla|al|bei|aus|bij|op|taga|ở|desde)"
)
# closed classes a name slot must not be: they make "at the park by myself" look named
GENERIC = _words(
    """
    a an the my your his her its our their this that these those same other another any some
    every each no one first last next right wrong whole own old new big little main local
    i me you him her it us them myself yourself himself herself itself ourselves themselves
    u ur yr ure youre ya
    what wot wat wut whats wots which wich who whose where wer whr how when why
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
STREET_WORDS = (
    "road", "rd", "street", "st", "lane", "ln", "avenue", "ave", "drive", "dr", "close",
    "crescent", "terrace", "boulevard", "blvd", "highway", "hwy", "way", "court", "ct", "place",
    "pl", "square", "sq", "parade", "grove", "gardens", "row", "mews", "hill",
)  # fmt: skip
_STREET = rf"(?:{'|'.join(STREET_WORDS)})"
SCHOOL_WORDS = ("school", "academy", "high", "elementary", "middle", "primary", "college", "prep",
                "secondary", "grammar")  # fmt: skip
# a word does not end in a full stop: "in cardiff. close" is two sentences, not a street
_WORD = r"[a-z0-9](?:[a-z0-9'.-]*[a-z0-9'])?"
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
# a capitalised word (or an all-caps shop name) after a location preposition, not "'s"; a
# letter is any script's ("de Liège", "w Poznaniu")
_LETTER = r"[^\W\d_]"
_ARTICLE = r"(?:the|la|le|l'|el|les|los|las|het|de|der|die|dem|den)\s*"
_PROPER_RE = re.compile(
    rf"\b(?:{_PREP}|{_PREP_OTHER}|beim|(?:go|goes|going|went)\s+(?:to|2))\s+(?:{_ARTICLE})?"
    rf"({_LETTER}(?:{_LETTER}|['-])*{_LETTER}|[A-Z]{{2,}})(?!'s|’s)\b",
    re.IGNORECASE,
)
# an age then a town, the way children introduce themselves: "11 from Swindon", "12 m hull",
# "14, durban, u?", "10 yo Bendigo" (at the start of a message, the town a single word)
_AGE_TOWN_RE = re.compile(
    r"(?:^|[.!?]\s)\s*(?:age\s*)?(?:[5-9]|1\d)\s*(?:(?:yo|y/o|yrs?(?:\s+old)?|years?\s+old|m|f|ans|anni|anos|años|lat|jahre|tahun|taon)\b)?\s*[,/]?\s*"
    r"(?:from\s+)?\b([a-z][a-z'-]{2,})\s*(?:[,!.?/]|$|\s+(?:u\b|wbu|hbu|lol|hi|hey|\W))",
    re.IGNORECASE,
)
# a numbered bus or train and where it goes or leaves from: "the 412 to Westfield"
_ROUTE_RE = re.compile(
    r"\bthe\s+\d{1,3}[a-z]?\s+(?:bus\s+|train\s+)?(?:to|from)\s+([a-z][a-z'-]{2,})",
    re.IGNORECASE,
)
# a street or a school word of another language the writers use, then a name: "calle Sierpes",
# "viale Marconi", "jl. Merdeka", "collège Victor Hugo", "SMP Negeri" (the name with a capital)
_OTHER_PLACE_RE = re.compile(
    r"\b(?:calle|c/|rue|via|viale|piazza|strada|ulica|ulicy|ul\.|jl\.?|jalan|rua|av\.|avenida"
    r"|carrera|plaza|paseo|colegio|escuela|instituto|ies|lycée|lycee|collège|liceo|scuola"
    r"|escola|gymnasium|grundschule|realschule|smp|sma|scoala|școala|szkoła|szkola)\s+"
    r"(?:(?:de|del|della|da|do|la|di)\s+)*([^\W\d_][\w'-]+)",
    re.IGNORECASE,
)
# "good at rainbow road" is a skill (a game's track), not where anyone is
_SKILL_RE = re.compile(
    r"\b(?:good|bad|better|best|worse|worst|great|terrible|rubbish|trash|decent|amazing|pro)"
    r"\s+at\s*$",
    re.IGNORECASE,
)


# cheap tests of what each shape needs, so most messages skip the costlier patterns (the
# decisions are the same: a street shape ends in a street word, a school shape in a school
# word, and the house, numbered and postcode shapes hold a digit)
_HAS_STREET_RE = re.compile(rf"\b{_STREET}\b", re.IGNORECASE)
_HAS_SCHOOL_RE = re.compile(rf"\b(?:{'|'.join(SCHOOL_WORDS)})\b", re.IGNORECASE)
_HAS_DIGIT_RE = re.compile(r"\d")
# ... and cheaper still, the same tests as set look-ups in the text's words: ``\bword\b`` found
# case-blind is a whole run of word characters equal to ``word`` once lower-cased. Only for an
# ASCII text: a case-blind pattern also matches a few other letters ("\u212a", the Kelvin
# sign, as "k") that ``str.lower`` does not map to the ASCII letter
_WORD_RE = re.compile(r"\w+")
_STREET_SET = frozenset(STREET_WORDS)
_SCHOOL_SET = frozenset(SCHOOL_WORDS)
_AT_THE = frozenset(["at", "the"])


def _ascii_words(text: str) -> frozenset[str] | None:
    """An ASCII text's lower-cased words (None: not ASCII, read with the patterns)."""
    return frozenset(_WORD_RE.findall(text.lower())) if text.isascii() else None


# what a number at the start of a message counts when it is not an age
UNITS = _words(
    """
    days weeks months years yrs mins minutes hours hrs secs seconds pm am km miles points pts
    quid pounds dollars bucks euros percent people kids times more left tho though
    ans anni anos años lat jahre tahun taon
    """
)


def _skill(text: str, start: int) -> bool:
    """True when the words before ``start`` are "good at" and the like (see _SKILL_RE)."""
    return _SKILL_RE.search(text, max(0, start - 24), start) is not None


def _named(word: str) -> bool:
    w = word.lower().strip("'.-")
    return bool(w) and w not in GENERIC and w not in DAYS_MONTHS


def find_place(text: str, *, case_blind: bool = False) -> tuple[int, int] | None:
    """``[start, end)`` of the first findable place in ``text`` (see the module's doc), or
    None. The checks run in a fixed order and the first that finds one decides; the street,
    school and "at the" shapes are tried only when the text's words hold what they need."""
    present = _ascii_words(text)
    if present is None:
        street = _HAS_STREET_RE.search(text) is not None
        school = _HAS_SCHOOL_RE.search(text) is not None
    else:
        street = not present.isdisjoint(_STREET_SET)
        school = not present.isdisjoint(_SCHOOL_SET)
    if street:
        for match in _STREET_RE.finditer(text):
            words = match.group(1).split()
            named = all(_named(w) for w in words[-1:]) and _named(words[0])
            if named and not _skill(text, match.start(1)):
                return match.start(1), match.end()
    if _HAS_DIGIT_RE.search(text):
        for shape in (_HOUSE_RE, _NUMBERED_RE, _POSTCODE_RE):
            if shape is _HOUSE_RE and not street:
                continue
            found = shape.search(text)
            if found:
                return found.span()
        for shape in (_ROUTE_RE, _AGE_TOWN_RE):
            for match in shape.finditer(text):
                word = match.group(1).lower()
                if _named(word) and word not in NOT_PLACES and word not in UNITS:
                    return match.span() if shape is _ROUTE_RE else match.span(1)
    if school:
        for match in _SCHOOL_RE.finditer(text):
            if _named(match.group(1)):
                return match.start(1), match.end()
    for match in _AT_THE_IN_RE.finditer(text) if present is None or present >= _AT_THE else ():
        if _named(match.group(1)):
            start = match.start() + 2  # "the mall in leeds", not "at"
            while text[start].isspace():
                start += 1
            return start, match.end()
    # the shapes below need a name written with a capital: a message without one skips them
    if case_blind or text == text.lower():
        return None
    for match in _OTHER_PLACE_RE.finditer(text):
        word = match.group(1)
        if word[0].isupper() and word.lower() not in NOT_PLACES and _named(word):
            return match.start(), match.end()
    for match in _PROPER_RE.finditer(text):
        word = match.group(1)
        # the preposition may be any case, the name must be written with a capital
        if word.lower().endswith(("'s", "’s")):  # someone's house: not findable
            continue
        named = word[0].isupper() and word.lower() not in NOT_PLACES and _named(word)
        if named and not _skill(text, match.start(1)):
            return match.span(1)
    return None
