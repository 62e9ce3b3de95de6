"""The list index built in a child process and mapped by the resolver process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from kidshield.config import parse_config
from kidshield.lists.isolated import can_isolate, load_lists_isolated


def test_without_a_fixed_hash_seed_the_index_is_built_in_process(tmp_path: Path) -> None:
    (tmp_path / "block.txt").write_text("blocked.example\n")
    config = parse_config('[[lists]]\nname = "b"\nsource = "block.txt"\ncategory = "adult"\n',
                          base_dir=tmp_path)
    if can_isolate():  # pragma: no cover - only when the test run itself fixed the seed
        return
    result = load_lists_isolated(config)
    assert result.lists.index.contains_suffix("www.blocked.example")


def test_child_built_index_answers_like_the_list_and_leaves_no_file(tmp_path: Path) -> None:
    (tmp_path / "block.txt").write_text("# list\nblocked.example\nbad..name\nother.example\n")
    work = tmp_path / "work"
    script = textwrap.dedent(f"""
        from pathlib import Path
        from kidshield.config import parse_config
        from kidshield.lists.isolated import load_lists_isolated
        config = parse_config(
            '[server]\\nbuiltin_lists = false\\n'
            '[[lists]]\\nname = "b"\\nsource = "block.txt"\\ncategory = "adult"\\n',
            base_dir=Path({str(tmp_path)!r}))
        result = load_lists_isolated(config, Path({str(work)!r}))
        index = result.lists.index
        hits = index.lookup("a.blocked.example")
        print(len(index), hits[0].line, result.lists.categories[hits[0].category],
              index.contains_suffix("other.example"), index.contains_suffix("nope.example"),
              result.reports["b"].errors, "numpy" in __import__("sys").modules)
    """)
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["2", "2", "adult", "True", "False", "1", "False"]
    assert list(work.iterdir()) == []
