"""Reading posted forms, and showing them again when they could not be saved: every value the
parent typed comes back, and each problem is shown next to the field it is about (with an
error summary at the top that links to it), never a "Saved." banner."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from kidshield.errors import KidshieldError


def text(form: FormData, key: str, default: str = "") -> str:
    """A form field as stripped text (``default`` when missing or a file)."""
    value = form.get(key, default)
    return value.strip() if isinstance(value, str) else default


def lines(value: str) -> list[str]:
    """One item per line (commas also separate)."""
    return [line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()]


@dataclass(frozen=True)
class FormState:
    """What a form shows: the values posted (empty on first display) and the problems found,
    by field name. Templates ask it for each field's value with the stored value as default,
    so a page shown again after an error keeps what was typed."""

    posted: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None  # the whole message, for the summary at the top

    @property
    def submitted(self) -> bool:
        return bool(self.posted)

    def value(self, name: str, default: object = "") -> str:
        """The posted value, else ``default`` (the stored setting)."""
        if self.submitted:
            found = self.posted.get(name)
            return found[0] if found else ""
        return "" if default is None else str(default)

    def values(self, name: str, default: Iterable[object] = ()) -> list[str]:
        """Every posted value of a repeated field (checkboxes), else ``default``."""
        if self.submitted:
            return list(self.posted.get(name, ()))
        return [str(v) for v in default]

    def checked(self, name: str, value: str, default: bool = False) -> bool:
        if self.submitted:
            return value in self.posted.get(name, ())
        return default

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    @classmethod
    def of(cls, form: FormData) -> FormState:
        posted: dict[str, list[str]] = {}
        for key, value in form.multi_items():
            if isinstance(value, str) and key != "csrf":
                posted.setdefault(key, []).append(value)
        return cls({k: tuple(v) for k, v in posted.items()})

    def failed(self, exc: KidshieldError, fields: Mapping[str, str] | None = None) -> FormState:
        """This form with ``exc`` shown at the field it names (``fields`` maps the names
        errors use to the form's own field names, when they differ)."""
        message = str(exc)
        head = error_field(exc)
        errors = dict(self.errors)
        if head is not None:
            shown = message[len(head) + 2:] if message.startswith(f"{head}: ") else message
            errors[(fields or {}).get(head, head)] = shown
        return FormState(self.posted or {"_": ("",)}, errors, message)


def error_field(exc: KidshieldError) -> str | None:
    """The input an error is about: its ``field``, or the word before the colon of messages
    written "minutes: from 0 to 1440"."""
    if exc.field:
        return exc.field
    head, sep, _rest = str(exc).partition(":")
    return head if sep and head and " " not in head else None


EMPTY = FormState()
