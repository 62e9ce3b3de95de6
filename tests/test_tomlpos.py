"""Finding the line a TOML key is written on."""

from __future__ import annotations

from kidshield.tomlpos import key_lines, line_of

TEXT = '''\
# comment
top = 1
[server]  # the server
timezone = "UTC"
"quoted key" = 2
dotted.key = 3

[[lists]]
name = "a"
[[lists]]
name = "b"
note = """
fake = "not a key"
[not.a.table]
"""
after = true

[profiles.mia]
allow = [
  "a.example",
  "b.example",
]
[[profiles.mia.schedules]]
from = "16:00"
[[profiles.mia.schedules]]
from = "17:00"
[profiles.mia.schedules.extra]
x = 1
'''


def test_key_lines_follow_tables_arrays_of_tables_and_dotted_keys() -> None:
    lines = key_lines(TEXT)
    assert lines[("top",)] == 2
    assert lines[("server",)] == 3
    assert lines[("server", "timezone")] == 4
    assert lines[("server", "quoted key")] == 5
    assert lines[("server", "dotted", "key")] == 6
    assert lines[("lists", 0)] == 8
    assert lines[("lists", 0, "name")] == 9
    assert lines[("lists", 1, "name")] == 11
    assert lines[("lists", 1, "after")] == 16
    assert ("lists", 1, "fake") not in lines
    assert ("not", "a", "table") not in lines
    assert lines[("profiles", "mia", "allow")] == 19
    assert lines[("profiles", "mia", "schedules", 0, "from")] == 24
    assert lines[("profiles", "mia", "schedules", 1, "from")] == 26
    assert lines[("profiles", "mia", "schedules", 1, "extra", "x")] == 28


def test_line_of_falls_back_to_the_nearest_written_parent() -> None:
    lines = key_lines(TEXT)
    assert line_of(lines, ("profiles", "mia", "allow", 1)) == 19
    assert line_of(lines, ("profiles", "mia", "schedules", 1, "to")) == 25
    assert line_of(lines, ("web", "listen")) is None
