"""No lexicon pattern reads another common word through the doubled-letter rule.

The lexicon lets a written doubled letter also match a single one ("kill" takes "kil"), so that
a misspelling still matches; but where the single reading is another word the pattern matches
that word too: "noose" read "nose" until it was written ``no{2}se``. This test reads every
pattern, macro and context string of every language as ``lexicon.rewrite_marking`` does, takes
each word in which the rewrite made a letter optional, and looks its readings up in a list of
common words (``data/common_words.txt``, from the repo's own DEV rows; see
``scripts/common_words.py``). A hit fails with the file and line of the string.

A hit is fixed in the lexicon (``x{2}``, or a whole-word exclusion), or, when the other word
is one the pattern is meant to take too (a misspelling the cue wants), named below with why.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from kidshield.safety.text import Risk, RiskLevel
from kidshield.safety.text.lexicon import DATA_DIR, rewrite_marking
from tests.safety.text.helpers import level

WORDS_FILE = Path(__file__).parent / "data" / "common_words.txt"

# keys whose strings go through ``compile_source`` (everywhere but [numbers], whose words are
# matched as written), and tables whose every value does
COMPILED_KEYS = frozenset({"patterns", "requires", "otherwise_requires", "says_nothing"})
COMPILED_TABLES = frozenset({"macros", "context"})

# (word as written, the other word it reads): the single reading is the same word, misspelt
# or shortened, or a name or letter nobody writes for anything else there
_SAME = "the same word misspelt"
ACCEPTED: dict[tuple[str, str], str] = {
    ("all", "al"): "a name; 'al' for 'all' is a misspelling",
    ("wanna", "wana"): _SAME,
    ("imma", "ima"): _SAME,
    ("ill", "il"): "'il' is 'I'll' without its second l (or a US state)",
    ("been", "ben"): "a name; 'ben' for 'been' is a misspelling",
    ("annoying", "anoying"): _SAME,
    ("counsellor", "counselor"): "US spelling",
    ("till", "til"): "'til' is 'till'",
    ("untill", "until"): "the pattern wants both spellings",
    ("bleed", "bled"): "the same verb",
    ("noone", "none"): "'none' would care says what 'no one' would care says",
    ("aww", "aw"): _SAME,
    ("lool", "lol"): "laughter either way",
    ("loool", "lol"): "laughter either way",
    ("kk", "k"): "'k' is 'ok' as 'kk' is",
    ("xx", "x"): "a kiss sign either way; the alternation writes 'x' too",
    ("maam", "mam"): "a form of address either way ('you mam are ...')",
    ("ss", "s"): "the school-class alternation writes 's' too",
    ("sss", "s"): "the school-class alternation writes 's' too",
    ("imm", "im"): "'imm' is a misspelt 'im', which the alternation writes too",
    ("ll", "l"): "'i l die' is 'i'll die' misspelt",
    # kids write "to" for "too" more often than not ("ur to cute"); a pattern's "too" sits
    # between words that make the "to" reading the same request (grooming's "you're too
    # pretty to be single"); escaping it cost grooming recall across writers (docs/safety-log.md)
    ("too", "to"): "the commonest misspelling in chat; the cues want it",
    # a defect left as it is: "a lot" reads as game talk, but without it the model's own false
    # alarms on long posts saying "a lot" flag (bench/text_answers.py: 17 benign rows of
    # chit-chat, RMHD and GoEmotions from none to bullying medium); docs/safety-log.md
    ("loot", "lot"): "load-bearing: hides the model's false alarms (docs/safety-log.md)",
    # the same: "e.g." is "e g" once normalised, and a lone "g" is game talk; escaped, two
    # RMHD DEV posts (finance, politics) flagged from the model alone
    ("gg", "g"): "load-bearing: hides the model's false alarms (docs/safety-log.md)",
}

_LITERAL = re.compile(r"'([^']*)'|\"((?:[^\"\\]|\\.)*)\"")
_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")
_BOUNDARY_ESCAPES = frozenset("WsbBd")


@dataclass(frozen=True)
class Collision:
    path: Path
    line: int
    word: str
    reads: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.word!r} also reads {self.reads!r}"


def common_words() -> frozenset[str]:
    lines = WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


def compiled_strings(path: Path) -> list[tuple[int, str]]:
    """(line, value) of every string in a lexicon file that is compiled as a pattern."""
    import tomllib

    found: list[tuple[int, str]] = []
    table = ""
    key = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue
        if stripped.startswith("["):
            table = stripped.strip("[]").strip()
            key = ""
            continue
        match = _KEY.match(line)
        body = line
        if match:
            key = match.group(1)
            body = line[match.end():]
        if not (key in COMPILED_KEYS and not table.startswith("numbers")) and (
            table not in COMPILED_TABLES
        ):
            continue
        for literal in _LITERAL.finditer(body):
            if literal.group(1) is not None:
                value = literal.group(1)
            else:
                value = tomllib.loads(f"v = {literal.group(0)}")["v"]
            found.append((number, value))
    return found


def _closing(source: str, start: int) -> int:
    """The index of the ``)`` or ``]`` that closes the group or class opened at ``start``."""
    depth = 0
    in_class = source[start] == "["
    i = start + 1 if in_class else start
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            if char == "]":
                return i
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        elif char == "[":
            in_class = True
        i += 1
    return len(source) - 1


def _opener(source: str, end: int) -> int:
    """The index of the ``(`` whose group closes at ``end``."""
    depth = 0
    i = end
    while i >= 0:
        if source[i] == ")" and source[i - 1 : i] != "\\":
            depth += 1
        elif source[i] == "(" and source[i - 1 : i] != "\\":
            depth -= 1
            if depth == 0:
                return i
        i -= 1
    return 0


def _starts_word(source: str, start: int) -> bool:
    """Nothing written before ``start`` must join the word (so the run alone is a reading)."""
    if start == 0:
        return True
    before = source[start - 1]
    if before in " |:>^?*":
        return True
    if start >= 2 and source[start - 2] == "\\" and before in _BOUNDARY_ESCAPES:
        return True
    if before == ")":
        return source.startswith(("(?<!", "(?<=", "(?!", "(?="), _opener(source, start - 1))
    return False


def _ends_word(source: str, end: int) -> bool:
    """Nothing required after ``end`` (the index after the run) joins the word."""
    rest = source[end:]
    if not rest or rest[0] in " |)$":
        return True
    if rest.startswith(("(?!", "(?=", "\\W", "\\s", "\\b", "\\w*", "\\d")):
        return True
    if rest[0] in "([":
        close = _closing(source, end)
        return source[close + 1 : close + 2] in ("?", "*")
    return False


def readings(source: str, marked: frozenset[int]) -> list[tuple[str, frozenset[str], set[str]]]:
    """Per word with a letter the rewrite made optional: (as written, its readings as written,
    its readings through the rewrite only)."""
    out: list[tuple[str, frozenset[str], set[str]]] = []
    i = 0
    in_class = False
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
            i += 1
            continue
        if char == "[":
            in_class = True
            i += 1
            continue
        if char == "{":  # a macro name or a count ("o{2}"): never a word
            i = source.find("}", i) + 1 or len(source)
            continue
        if not "a" <= char <= "z":
            i += 1
            continue
        start = i
        letters: list[tuple[str, bool, bool]] = []  # letter, optional as written, by rewrite
        while i < len(source) and "a" <= source[i] <= "z":
            written = source[i + 1 : i + 2] in ("?", "*")
            letters.append((source[i], written, i in marked))
            i += 2 if written else 1
        if not any(by_rewrite for _, _, by_rewrite in letters):
            continue
        if not (_starts_word(source, start) and _ends_word(source, i)):
            continue
        written_forms: set[str] = set()
        rewrite_forms: set[str] = set()
        choices = [(True, False) if w or r else (True,) for _, w, r in letters]
        for keep in itertools.product(*choices):
            form = "".join(c for (c, _, _), k in zip(letters, keep, strict=True) if k)
            dropped_by_rewrite = any(
                not k and r and not w for (_, w, r), k in zip(letters, keep, strict=True)
            )
            (rewrite_forms if dropped_by_rewrite else written_forms).add(form)
        word = "".join(c for c, _, _ in letters)
        out.append((word, frozenset(written_forms), rewrite_forms - written_forms))
    return out


def collisions() -> list[Collision]:
    words = common_words()
    found: list[Collision] = []
    for path in sorted(DATA_DIR.glob("*/*.toml")):
        for line, source in compiled_strings(path):
            marked = rewrite_marking(source)[1]
            for word, _written, extra in readings(source, marked):
                for other in sorted(extra & words):
                    if (word, other) not in ACCEPTED:
                        found.append(Collision(path, line, word, other))
    return found


def test_no_pattern_reads_another_common_word_through_a_doubled_letter() -> None:
    found = collisions()
    assert not found, "write the letter x{2} (or exclude the word):\n" + "\n".join(
        map(str, found)
    )


def test_the_check_finds_a_collision_and_its_line(tmp_path: Path) -> None:
    """The reader itself can fail: "noose" as written before the escape is found."""
    source = "(?<![a-z])(?:noose|rope)s?(?![a-z])"
    marked = rewrite_marking(source)[1]
    assert ("noose", frozenset({"noose"}), {"nose"}) in readings(source, marked)
    assert readings("no{2}se", rewrite_marking("no{2}se")[1]) == []
    # a prefix of a longer word written with a required suffix group is not a reading
    assert readings("dinn(?:er|ers)", rewrite_marking("dinn(?:er|ers)")[1]) == []
    # an optional suffix group leaves the run a word of its own
    assert readings("meet(?:ing)?", rewrite_marking("meet(?:ing)?")[1])[0][2] == {"met"}
    path = tmp_path / "x.toml"
    path.write_text("[[cue]]\nid = 'a'\npatterns = [\n  'rope',\n  \"no\\\\Wsee\",\n]\n")
    assert compiled_strings(path) == [(4, "rope"), (5, "no\\Wsee")]
    assert readings("no\\Wsee", rewrite_marking("no\\Wsee")[1])[0][2] == {"se"}


def test_accepted_readings_are_still_there() -> None:
    """An accepted reading that no longer occurs is taken off the list."""
    words = common_words()
    seen: set[tuple[str, str]] = set()
    for path in sorted(DATA_DIR.glob("*/*.toml")):
        for _line, source in compiled_strings(path):
            for word, _written, extra in readings(source, rewrite_marking(source)[1]):
                seen.update((word, other) for other in extra & words)
    assert set(ACCEPTED) <= seen


# what the check found, as messages (each answered otherwise on main 993747cc)
def test_f_of_x_in_maths_is_no_swearing() -> None:
    """"off" read "of": "f off" took a function's "f of 3"."""
    assert level("what is f of 3", Risk.BULLYING) is RiskLevel.NONE
    assert level("f off", Risk.BULLYING) is not RiskLevel.NONE


def test_a_meeting_that_happened_is_no_meeting_request() -> None:
    """"meet" read "met": "when we meet" took "when we met at the party"."""
    assert level("when we met at the party she was nice", Risk.GROOMING) is RiskLevel.NONE
    assert level("when we meet dont tell your mum", Risk.GROOMING) is not RiskLevel.NONE



def test_a_t_shirt_is_no_tiktok_handle() -> None:
    """"tt" (TikTok) read "t": "wear t-shirts" and "send tissues" gave a handle "shirts"/"sues"."""
    assert level("my scars are silver now and I wear t-shirts.", Risk.PERSONAL_INFO) is (
        RiskLevel.NONE
    )
    assert level("Send help and tissues.", Risk.PERSONAL_INFO) is RiskLevel.NONE
    assert level("add me on tt its jake.plays", Risk.PERSONAL_INFO) is not RiskLevel.NONE
    # "of" is written where a place is "X of Y" (it was read through "off" before)
    assert level("im at the void deck of Blk 123 in Tampines rn lol", Risk.PERSONAL_INFO) is not (
        RiskLevel.NONE
    )
