"""Learning and drills (issue 8): age-banded lessons, guides, cyberdrills, tabletop scenarios
and the COP self-assessment. Content lives in ``data/`` as files; the modules load and check it."""
