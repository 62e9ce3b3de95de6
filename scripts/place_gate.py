"""Does a message name a place someone could find? The gate of the learned whereabouts head,
as the thirteenth session measured it (scripts/pii_learned.py --gated); the rule itself now
lives in the package, :mod:`kidshield.safety.text.pii.places`, which also says where the place
is (the shipped head's span). Its decisions were the same as the script's until the fifteenth
session widened the gate and closed its known holes (docs/safety-log.md, "The place gate
widened"); the thirteenth and fourteenth sessions' figures are of the earlier gate.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kidshield.safety.text.pii.places import find_place


def names_place(text: str, *, case_blind: bool = False) -> bool:
    """True when ``text`` names a place someone could find (see the package module's doc)."""
    return find_place(text, case_blind=case_blind) is not None
