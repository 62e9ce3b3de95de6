"""Dashboard changes of settings: the API the dashboard (and anything else that edits
settings at run time) uses. Changes are checked against the whole configuration before they
are stored, stored with their audit entry in one transaction, and in force on this node at
once and on every node sharing the database after its next sync (kidshield/state/source.py).
The file stays the base; see kidshield/state/overlay.py for what wins when both change.

    editor.change([Change("profiles.mia", "bedtime", "20:30"),
                   Change("profiles.mia", "wake_up", "07:00")], actor="Alex", audit=entry)
    editor.config()        # the configuration in force (file + changes)
    editor.active()        # the changes in force, with who and when (ConfigEdit)
    editor.overtaken()     # changes the file overtook (superseded, rejected), newest first
    editor.discard(id, actor="Alex")     # back to the file's value
    editor.export()        # the file's text with the changes written in, comments kept
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kidshield.clock import Clock
from kidshield.config import Config
from kidshield.errors import NotFound
from kidshield.state import overlay
from kidshield.state.overlay import Change, Outcome
from kidshield.state.source import StateSource
from kidshield.state.store import ConfigEdit, EditEnd, EditStatus
from kidshield.storage.protocols import AuditEntry


class SettingsEditor:
    def __init__(self, state: StateSource, file_config: Callable[[], Config],
                 clock: Clock) -> None:
        """``file_config`` gives the configuration as the file says it (the application's
        last good load). The editor follows the edits in force: when they change (here or on
        another node), it recomputes before other listeners of the state source hear of it."""
        self.state = state
        self._file = file_config
        self.clock = clock
        self._outcome: Outcome | None = None
        state.on_edits(self.refresh)

    @property
    def file(self) -> Config:
        return self._file()

    def outcome(self) -> Outcome:
        """The configuration in force and the changes in it."""
        if self._outcome is None:
            self._outcome = overlay.effective(self._file(), self.state.edits())
        return self._outcome

    def config(self) -> Config:
        return self.outcome().config

    def refresh(self) -> Outcome:
        """Recompute after the file or the edits changed, and record the edits the file has
        overtaken (every node computes the same; the first to record it wins, the others find
        it done)."""
        outcome = self._outcome = overlay.effective(self._file(), self.state.edits())
        if outcome.ended:
            self.state.end_edits([e.end for e in outcome.ended])
        return outcome

    def active(self) -> tuple[ConfigEdit, ...]:
        return self.outcome().applied

    def overtaken(self, limit: int = 50) -> list[ConfigEdit]:
        """Changes the file won over (read from the database), newest first."""
        return [e for e in self.state.edit_history(limit * 4)
                if e.status in (EditStatus.SUPERSEDED, EditStatus.REJECTED)][:limit]

    def prepare(self, changes: Sequence[Change], actor: str) -> list[ConfigEdit]:
        """Check ``changes`` and make the edits that carry them out, without storing them
        (for a decision that stores them with other changes: ``StateSource.decide_request``).
        Raises InputError (naming the setting) when a change is not allowed or would make
        the configuration invalid."""
        file = self._file()
        data = overlay.file_data(file)
        now = self.clock.now()
        new = []
        for change in changes:
            overlay.check_change(change, file)
            new.append(ConfigEdit(change.target, change.field, overlay.encode(change.value),
                                  overlay.file_value(data, change.target, change.field),
                                  now, actor))
        overlay.with_changes(file, self.state.edits(), new)  # InputError when invalid
        return new

    def change(self, changes: Sequence[Change], actor: str,
               audit: AuditEntry | None = None) -> Config:
        """Check and store ``changes`` as one change (with ``audit``, one transaction); the
        configuration now in force. Nothing is stored when a change is refused."""
        self.state.put_edits(self.prepare(changes, actor), audit)
        return self.config()  # in force: the state source told refresh() already

    def discard(self, edit_id: int, actor: str, audit: AuditEntry | None = None) -> None:
        """Drop a change in force: the setting goes back to what the file says."""
        if not any(e.id == edit_id for e in self.state.edits()):
            raise NotFound(f"no dashboard change {edit_id} in force")
        self.state.end_edits([EditEnd(edit_id, EditStatus.DISCARDED, f"discarded by {actor}")],
                             audit)

    def export(self) -> str:
        """The configuration file with the changes in force written in (comments kept)."""
        return overlay.export_text(self._file(), self.active())
