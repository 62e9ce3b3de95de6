"""Dashboard changes over the configuration file: the file is the base, a change holds while
the file still says what it said when the change was made, the newer change wins, nothing is
lost silently, and the file can be regenerated with the changes written in."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kidshield.config import Config, parse_config
from kidshield.errors import InputError
from kidshield.profiles import compile_profiles
from kidshield.state import overlay
from kidshield.state.overlay import Change
from kidshield.state.store import ConfigEdit, EditStatus

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
FILE = """\
# The Smiths' kidshield
[server]
timezone = "Europe/London"

[[clients]]
name = "Mia's tablet"   # the school one
profile = "mia"
addresses = ["192.168.1.20"]

[profiles.mia]
# Mia is 10
birth_date = 2016-04-02
bedtime = "21:00"
wake_up = "07:00"
deny = ["casino.example"]
"""


def load(text: str = FILE) -> Config:
    return parse_config(text, source="kidshield.toml", base_dir=Path("."))


def made(file: Config, changes: list[Change], at: datetime = NOW,
         by: str = "Alex") -> list[ConfigEdit]:
    """The edits the dashboard stores for ``changes`` (as SettingsEditor.prepare makes them),
    with ids as the database would give them."""
    data = overlay.file_data(file)
    return [ConfigEdit(c.target, c.field, overlay.encode(c.value),
                       overlay.file_value(data, c.target, c.field), at, by, id=i)
            for i, c in enumerate(changes, start=int(at.timestamp()) % 1000)]


def test_a_change_holds_over_the_file_and_says_where_it_came_from() -> None:
    file = load()
    edits = made(file, [Change("profiles.mia", "bedtime", "20:30"),
                        Change("profiles.mia", "deny", ["casino.example", "bet.example"])])
    outcome = overlay.effective(file, edits)
    assert outcome.ended == () and outcome.applied == tuple(edits)
    mia = outcome.config.profiles["mia"]
    assert (mia.bedtime, mia.wake_up, mia.birth_date) == ("20:30", "07:00", date(2016, 4, 2))
    profile = compile_profiles(outcome.config)["mia"]
    assert profile.bedtime is not None
    assert str(profile.bedtime.source) == \
        "profile mia (dashboard edit by Alex, 2026-12-06 10:00 UTC)"
    # what the change did not touch still points at the file's line
    assert outcome.config.origin("profiles", "mia", "wake_up") == ("kidshield.toml", 14)


def test_when_the_file_changes_the_setting_afterwards_the_file_wins_and_it_is_said() -> None:
    edits = made(load(), [Change("profiles.mia", "bedtime", "20:30")])
    later = load(FILE.replace('bedtime = "21:00"', 'bedtime = "21:15"'))
    outcome = overlay.effective(later, edits)
    assert outcome.config.profiles["mia"].bedtime == "21:15"
    [ended] = outcome.ended
    assert ended.end.status is EditStatus.SUPERSEDED
    assert "kidshield.toml changed profiles.mia.bedtime to \"21:15\"" in ended.end.note
    assert ended.edit.value == '"20:30"'  # kept, with who and when, for the dashboard


def test_a_file_change_elsewhere_leaves_the_dashboard_change_in_force() -> None:
    edits = made(load(), [Change("profiles.mia", "bedtime", "20:30")])
    later = load(FILE.replace('wake_up = "07:00"', 'wake_up = "06:45"'))
    outcome = overlay.effective(later, edits)
    assert (outcome.config.profiles["mia"].bedtime, outcome.config.profiles["mia"].wake_up) \
        == ("20:30", "06:45")
    assert outcome.ended == ()


def test_a_change_made_after_the_file_changed_wins_over_it() -> None:
    later = load(FILE.replace('bedtime = "21:00"', 'bedtime = "21:15"'))
    edits = made(later, [Change("profiles.mia", "bedtime", "20:30")], NOW + timedelta(hours=1))
    assert overlay.effective(later, edits).config.profiles["mia"].bedtime == "20:30"


def test_the_exported_file_keeps_comments_and_takes_the_changes_in() -> None:
    file = load()
    edits = made(file, [
        Change("profiles.mia", "bedtime", "20:30"),
        Change("profiles.mia", "budgets", {"youtube": 60}),
        Change("profiles.leo", "name", "Leo"),
        Change("profiles.leo", "age_band", "under-9"),
        Change("clients", "Leo's phone", {"name": "Leo's phone", "profile": "leo",
                                          "addresses": ["192.168.1.30"]}),
        Change("logging", "retention_days", 3),
    ])
    outcome = overlay.effective(file, edits)
    text = overlay.export_text(file, outcome.applied)
    assert "# Mia is 10" in text and "# the school one" in text
    assert "birth_date = 2016-04-02" in text  # still a TOML date
    exported = load(text)
    assert exported.model_dump() == outcome.config.model_dump()
    # once the file says it, the changes have nothing left to do
    again = overlay.effective(exported, edits)
    assert again.applied == () and {e.end.status for e in again.ended} == {EditStatus.MERGED}
    assert again.config.model_dump() == outcome.config.model_dump()


def test_a_device_removed_in_the_dashboard_is_gone_until_the_file_changes_it() -> None:
    file = load()
    edits = made(file, [Change("clients", "Mia's tablet", None)])
    assert overlay.effective(file, edits).config.clients == []
    tomllib.loads(overlay.export_text(file, edits))  # valid TOML
    assert "Mia's tablet" not in overlay.export_text(file, edits)


def test_a_change_that_no_longer_fits_the_file_ends_with_the_reason() -> None:
    file = load(FILE.replace("birth_date = 2016-04-02", 'age_band = "9-12"'))
    edits = made(file, [Change("profiles.mia", "age_band", "13-15"),
                        Change("profiles.mia", "bedtime", "20:30")])
    later = load(FILE)  # the file now gives a birth date instead of a band
    outcome = overlay.effective(later, edits)
    statuses = {e.edit.field: (e.end.status, e.end.note) for e in outcome.ended}
    # the band was removed from the file: the file changed it, and wins
    assert statuses["age_band"][0] is EditStatus.SUPERSEDED
    assert outcome.config.profiles["mia"].bedtime == "20:30"


def test_an_edit_that_conflicts_with_a_later_file_is_rejected_not_crashed() -> None:
    file = load()
    edits = made(file, [Change("profiles.mia", "age_band", "9-12")])  # base: absent
    outcome = overlay.effective(file, edits)
    [ended] = outcome.ended  # a birth date and an age band: invalid together
    assert ended.end.status is EditStatus.REJECTED
    assert "birth_date or an age_band, not both" in ended.end.note
    assert outcome.config.profiles["mia"].birth_date == date(2016, 4, 2)


def test_a_change_that_would_make_the_configuration_invalid_is_refused() -> None:
    file = load()
    new = made(file, [Change("profiles.mia", "wake_up", None)])  # a bedtime needs a wake-up
    with pytest.raises(InputError, match="bedtime and wake_up go together"):
        overlay.with_changes(file, [], new)
    with pytest.raises(InputError, match="not a profile setting"):
        overlay.check_change(Change("profiles.mia", "colour", "red"), file)
    with pytest.raises(InputError, match="not a setting the dashboard changes"):
        overlay.check_change(Change("dns", "listen", ["0.0.0.0:53"]), file)


ADULT_LIST = {"name": "oisd-nsfw", "source": "https://lists.example/nsfw.txt",
              "format": "domains", "category": "adult"}


def test_a_list_added_in_the_dashboard_is_in_force_and_exported_as_a_lists_table() -> None:
    file = load()
    edits = made(file, [Change("lists", "oisd-nsfw", ADULT_LIST)])
    outcome = overlay.effective(file, edits)
    assert outcome.ended == ()
    [lst] = outcome.config.lists
    assert (lst.name, lst.source, lst.category) == ("oisd-nsfw", ADULT_LIST["source"], "adult")
    assert outcome.config.origin("lists", "oisd-nsfw")[0].startswith("dashboard edit by Alex")
    text = overlay.export_text(file, outcome.applied)
    assert "# The Smiths' kidshield" in text
    assert tomllib.loads(text)["lists"] == [ADULT_LIST]
    # removed again (the store replaces the add with the removal): the file's lists again
    later = made(file, [Change("lists", "oisd-nsfw", None)], at=NOW + timedelta(minutes=1))
    outcome = overlay.effective(file, later)
    assert outcome.config.lists == []
    assert "lists" not in tomllib.loads(overlay.export_text(file, outcome.applied))


def test_a_list_in_the_file_can_be_removed_in_the_dashboard() -> None:
    file = load(FILE + '\n[[lists]]\nname = "local"\nsource = "local.txt"\ncategory = "adult"\n')
    edits = made(file, [Change("lists", "local", None)])
    outcome = overlay.effective(file, edits)
    assert outcome.config.lists == [] and outcome.ended == ()
    assert "local.txt" not in overlay.export_text(file, outcome.applied)


@pytest.mark.parametrize("source", ["/etc/passwd", "file:///etc/passwd", "lists/adult.txt",
                                    "ftp://lists.example/a.txt"])
def test_the_dashboard_cannot_add_a_list_read_from_the_servers_files(source: str) -> None:
    file = load()
    change = Change("lists", "sneaky", {**ADULT_LIST, "name": "sneaky", "source": source})
    with pytest.raises(InputError, match="http:// or https://") as caught:
        overlay.check_change(change, file)
    assert caught.value.field == "source"


def test_a_dashboard_list_whose_name_is_not_its_key_is_refused() -> None:
    with pytest.raises(InputError, match="name"):
        overlay.check_change(Change("lists", "a", {**ADULT_LIST, "name": "b"}), load())
