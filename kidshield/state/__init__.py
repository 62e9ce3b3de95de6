"""Run-time state a parent changes, one source for every reader and every node: grants,
pauses, minutes used, access requests (``source.StateSource``), and dashboard changes of
settings kept over the configuration file (``overlay``, ``editor.SettingsEditor``). The store
it needs is ``store.StateStore`` (implemented in kidshield/storage/state_sql.py)."""

from kidshield.state.source import StateSource

__all__ = ["StateSource"]
