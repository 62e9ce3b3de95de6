"""The shipped text model (see classifier.py and docs/safety.md: model card)."""
