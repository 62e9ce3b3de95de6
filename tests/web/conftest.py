"""The web tests run against kidshield as ``kidshield serve`` runs it: the ``served``,
``client`` and ``parent`` fixtures of tests/e2e/fixtures.py (the household of
tests/e2e/household.py on a Wednesday afternoon)."""
