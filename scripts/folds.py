"""Reading a fold model saved by ``loso_halves.py --save`` (or ``conv_benign.py --save``,
which saves it with its conversation model) in the scripts that score saved folds."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

from kidshield.safety.text.train import Trained


class _Saved:
    """A pickled ``Trained`` read as its fields by name, so fold models saved by earlier code
    (with fields since removed, such as ``parts`` and ``shares``) still load."""

    fields: dict[str, Any]

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (instance dict, slots dict)
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise SystemExit("--load: a fold model in a format this script does not know")
        self.fields = state


class _FoldUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == (Trained.__module__, Trained.__name__):
            return _Saved
        return super().find_class(module, name)


def _trained(path: Path, saved: Any) -> Trained:
    if isinstance(saved, _Saved):
        fields = dataclasses.fields(Trained)
        names = [f.name for f in fields]
        # a field with a default (such as ``profanity``, tenth session) may be absent
        required = [f.name for f in fields if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING]
        missing = [n for n in required if n not in saved.fields]
        if missing:
            raise SystemExit(f"--load {path}: not a fold model (no {', '.join(missing)})")
        return Trained(**{n: saved.fields[n] for n in names if n in saved.fields})
    raise SystemExit(f"--load {path}: not a fold model ({type(saved).__name__})")


def read_saved(path: Path) -> tuple[Trained, Any]:
    """The fold model and what was saved beside it (None when it was saved alone)."""
    with path.open("rb") as f:
        saved = _FoldUnpickler(f).load()
    beside = None
    if isinstance(saved, tuple) and len(saved) == 2:
        saved, beside = saved
    return _trained(path, saved), beside


def read_fold(path: Path) -> Trained:
    return read_saved(path)[0]
