"""Dashboard changes over the configuration file: the file is the base, each change is kept in
the database per setting (who, when, and what the file said then), and the configuration in
force is the file with the changes that still hold applied. Pure: no database, no clock.

What wins (docs/configuration.md, "Dashboard changes and the file"):
- a change holds while the file still says what it said when the change was made (``base``);
- when the file changes that setting afterwards, the file is newer and wins: the change ends
  as ``superseded`` (kept in the history, shown in the dashboard);
- when the file comes to say the same as the change (``kidshield config export --write``, or
  the same edit by hand), the change ends as ``merged``;
- a change that no longer fits the file (a birth date added to the file under a dashboard age
  band) ends as ``rejected``, with the reason.
Every node computes the same from the same file and database, so they agree.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kidshield.config import Config, LoggingConfig, ProfileConfig, validate_data
from kidshield.errors import ConfigError, InputError
from kidshield.state.store import ConfigEdit, EditEnd, EditStatus

WHOLE = "*"  # the field of a change of a whole table (a profile added or removed)
# settings outside profiles that the dashboard may change (the rest needs the file: listen
# addresses, upstreams, storage... belong to whoever runs the server)
EDITABLE = {
    "logging": frozenset(LoggingConfig.model_fields),
    "dns": frozenset({"block_mode"}),
}
PROFILE_FIELDS = frozenset(f.alias or name for name, f in ProfileConfig.model_fields.items())
# arrays of tables the dashboard changes one entry at a time, each entry named by its "name"
# (a change's field): a device, a block list
KEYED = frozenset({"clients", "lists"})
# a list the dashboard adds is downloaded: a local path would let a dashboard account read
# files of the server through the list's "lines that could not be read"
URL_SCHEMES = ("http://", "https://")


@dataclass(frozen=True, slots=True)
class Change:
    """A setting to change: ``value`` None removes it (back to the default). For
    ``target="clients"`` or ``"lists"`` the field is the entry's name and the value its
    whole table."""

    target: str
    field: str
    value: Any


@dataclass(frozen=True, slots=True)
class Ended:
    edit: ConfigEdit
    end: EditEnd


@dataclass(frozen=True, slots=True)
class Outcome:
    config: Config  # the configuration in force
    applied: tuple[ConfigEdit, ...]  # the changes in it, oldest first
    ended: tuple[Ended, ...]  # changes the file has overtaken (to record, and to show)


def encode(value: Any) -> str | None:
    """A setting's value as stored: canonical JSON (dates as ISO text); None: absent."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=_plain, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a setting value")


def file_data(file: Config) -> dict[str, Any]:
    """The settings as the file writes them."""
    if file.text:
        return tomllib.loads(file.text)
    return file.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def check_change(change: Change, file: Config) -> None:
    """Refuse a change the dashboard may not make (InputError naming the setting)."""
    target, field = change.target, change.field
    if target.startswith("profiles."):
        pid = target.split(".", 1)[1]
        if field != WHOLE and field not in PROFILE_FIELDS:
            raise InputError(f"{field}: not a profile setting", field=field)
        if field == WHOLE and change.value is not None and not isinstance(change.value, dict):
            raise InputError("a profile is a table of settings")
        if not pid:
            raise InputError("no profile named ''")
    elif target == "clients":
        if change.value is not None and not isinstance(change.value, dict):
            raise InputError("a device is a table of settings")
    elif target == "lists":
        _check_list(change)
    elif target in EDITABLE:
        if field not in EDITABLE[target]:
            raise InputError(f"{target}.{field}: not a setting the dashboard changes (edit "
                             f"{file.source} instead)", field=field)
    else:
        raise InputError(f"{target}: not settings the dashboard changes")


def _check_list(change: Change) -> None:
    value = change.value
    if value is None:
        return
    if not isinstance(value, dict):
        raise InputError("a list is a table of settings")
    if value.get("name") != change.field:
        raise InputError(f"name: the list's name is {change.field!r}", field="name")
    source = value.get("source")
    if not isinstance(source, str) or not source.startswith(URL_SCHEMES):
        raise InputError("source: an http:// or https:// address of the list (the dashboard "
                         "adds downloaded lists; a file on the server goes in the "
                         "configuration file)", field="source")


def file_value(data: dict[str, Any], target: str, field: str) -> str | None:
    """What the file says for a setting, encoded (None: not in the file)."""
    if target in KEYED:
        found = next((c for c in data.get(target, []) if c.get("name") == field), None)
        return encode(found)
    table = _table(data, target)
    if table is None:
        return None
    return encode(table if field == WHOLE else table.get(field))


def _table(data: dict[str, Any], target: str) -> dict[str, Any] | None:
    node: Any = data
    for key in target.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


def _apply(data: dict[str, Any], edit: ConfigEdit) -> None:
    value = None if edit.value is None else json.loads(edit.value)
    if edit.target in KEYED:
        entries = [c for c in data.get(edit.target, []) if c.get("name") != edit.field]
        if value is not None:
            found = [i for i, c in enumerate(data.get(edit.target, []))
                     if c.get("name") == edit.field]
            entries.insert(min(found[0], len(entries)) if found else len(entries), value)
        data[edit.target] = entries
        return
    *parents, last = edit.target.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    if edit.field == WHOLE:
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
        return
    table = node.setdefault(last, {})
    if value is None:
        table.pop(edit.field, None)
    else:
        table[edit.field] = value


def describe(edit: ConfigEdit) -> str:
    return f"dashboard edit by {edit.made_by or 'someone'}, {edit.made_at:%Y-%m-%d %H:%M} UTC"


def _shown(encoded: str | None) -> str:
    return "nothing (the default)" if encoded is None else encoded


def effective(file: Config, edits: Sequence[ConfigEdit]) -> Outcome:
    """The configuration in force: ``file`` with the changes that still hold."""
    data = file_data(file)
    ended: list[Ended] = []
    holding: list[ConfigEdit] = []
    for edit in sorted(edits, key=lambda e: (e.made_at, e.id or 0)):
        now = file_value(data, edit.target, edit.field)
        if now == edit.value:
            ended.append(Ended(edit, EditEnd(edit.id or 0, EditStatus.MERGED,
                                             f"{file.source} now says the same")))
        elif now != edit.base:
            ended.append(Ended(edit, EditEnd(
                edit.id or 0, EditStatus.SUPERSEDED,
                f"{file.source} changed {edit.path} to {_shown(now)} after this change; the "
                "newer change wins")))
        else:
            holding.append(edit)
    try:
        config = _build(file, data, holding)
    except ConfigError:
        # one or more changes no longer fit the file: keep those that do, oldest first
        kept: list[ConfigEdit] = []
        config = _build(file, data, [])
        for edit in holding:
            try:
                config = _build(file, data, [*kept, edit])
            except ConfigError as exc:
                ended.append(Ended(edit, EditEnd(
                    edit.id or 0, EditStatus.REJECTED,
                    f"no longer fits {file.source}: {'; '.join(exc.problems)}")))
            else:
                kept.append(edit)
        holding = kept
    return Outcome(config, tuple(holding), tuple(ended))


def _build(file: Config, data: dict[str, Any], edits: Sequence[ConfigEdit]) -> Config:
    if not edits:
        return file
    merged = copy.deepcopy(data)
    for edit in edits:
        _apply(merged, edit)
    config = validate_data(merged, source="dashboard", base_dir=file.base_dir)
    edited = {(f"{e.target}.{e.field}" if e.target in KEYED else e.path): describe(e)
              for e in edits}
    return config.model_copy(update={"text": file.text, "source": file.source,
                                     "edited": edited})


def with_changes(file: Config, edits: Sequence[ConfigEdit], new: Sequence[ConfigEdit]) -> Config:
    """The configuration the new changes would give; InputError when it would be invalid."""
    outcome = effective(file, edits)
    try:
        return _build(file, file_data(file), [*outcome.applied, *new])
    except ConfigError as exc:
        raise InputError("that change would make the configuration invalid: "
                         + "; ".join(exc.problems)) from None


def export_text(file: Config, applied: Sequence[ConfigEdit]) -> str:
    """The file with ``applied`` written into it, keeping its comments and layout."""
    import tomlkit  # only to export: the resolver need not hold it

    doc = tomlkit.parse(file.text) if file.text else tomlkit.document()
    for edit in applied:
        value = None if edit.value is None else _toml_value(edit.field, json.loads(edit.value))
        if edit.target in KEYED:
            _export_keyed(doc, edit.target, edit.field, value)
            continue
        *parents, last = edit.target.split(".")
        node: Any = doc
        for key in parents:
            if key not in node:
                node[key] = tomlkit.table(is_super_table=True)
            node = node[key]
        if edit.field == WHOLE:
            if value is None:
                if last in node:
                    del node[last]
            else:
                node[last] = value
            continue
        if last not in node:
            node[last] = tomlkit.table()
        table = node[last]
        if value is None:
            if edit.field in table:
                del table[edit.field]
        else:
            table[edit.field] = value
    return tomlkit.dumps(doc)


def _export_keyed(doc: Any, target: str, name: str, value: Any) -> None:
    import tomlkit

    clients = doc.get(target)
    if clients is None:
        if value is None:
            return
        doc[target] = tomlkit.aot()
        clients = doc[target]
    indexes = [i for i, c in enumerate(clients) if c.get("name") == name]
    for i in reversed(indexes[1:] if value is not None else indexes):
        del clients[i]
    if value is None:
        return
    table = tomlkit.table()
    for key, item in value.items():
        table[key] = item
    if indexes:
        clients[indexes[0]] = table
    else:
        clients.append(table)


def _toml_value(field: str, value: Any) -> Any:
    """JSON back to TOML's own types where the setting has one (a birth date is a date)."""
    if field == "birth_date" and isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(value, dict) and field == WHOLE and isinstance(value.get("birth_date"), str):
        return {**value, "birth_date": date.fromisoformat(value["birth_date"])}
    return value
