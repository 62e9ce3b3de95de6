"""Lists kept as dashboard edits are loaded as the file's are: by `kidshield lists update`
(the download job `serve` runs), by a reload, and as soon as the edits change (here or on
another node), with one build at a time."""

from __future__ import annotations

import time
from pathlib import Path

from typer.testing import CliRunner

from kidshield.cli import app as cli
from kidshield.state.overlay import Change
from tests.e2e import harness
from tests.e2e.harness import Served
from tests.lists.helpers import FakeListServer

BLOCKED, OPEN = ["127.0.0.1"], ["192.0.2.1"]


def test_a_list_edit_is_downloaded_by_lists_update_and_loaded_by_reload_and_by_edits(
        served: Served, lists_server: FakeListServer) -> None:
    table = {"name": "dating-extra", "source": lists_server.url, "format": "hosts",
             "category": "dating"}
    served.call(served.app.editor.change, [Change("lists", "dating-extra", table)], "Alex")
    result = CliRunner().invoke(cli, ["lists", "update", "-c", str(served.config_path)])
    assert "dating-extra" in result.output and len(lists_server.requests) == 1, result.output
    assert served.reload()
    assert served.addresses("flirt.example") == BLOCKED
    served.call(served.app.editor.change, [Change("lists", "dating-extra", None)], "Alex")
    assert served.run(served.app.apply_list_edits())
    assert served.addresses("flirt.example") == OPEN
    # and back again without a reload: the edit alone builds the lists (the copy is there)
    served.call(served.app.editor.change, [Change("lists", "dating-extra", table)], "Alex")
    assert served.run(served.app.apply_list_edits())
    assert served.addresses("flirt.example") == BLOCKED
    assert served.app.reload_failures == 0


def test_a_list_added_on_one_node_is_downloaded_and_loaded_by_another(
        served: Served, lists_server: FakeListServer, tmp_path: Path) -> None:
    # a second server on the same database, with its own download folder
    other = tmp_path / "node2.toml"
    other.write_text(served.config_path.read_text().replace(
        'storage = "kidshield.db"', 'storage = "kidshield.db"\ndata_dir = "node2"'))
    with harness.start(other, served.clock, web=False) as node2:
        client, headers = served.parent()
        r = client.post("/api/v1/lists", json={"name": "dating-extra", "format": "hosts",
                                               "source": lists_server.url,
                                               "category": "dating"}, headers=headers)
        assert r.status_code == 201, r.text
        assert served.addresses("flirt.example") == BLOCKED
        deadline = time.monotonic() + 30  # node 2: its state sync, a download, a build
        while node2.addresses("flirt.example") != BLOCKED:
            assert time.monotonic() < deadline, "node 2 never loaded the list"
            time.sleep(0.2)
        assert (tmp_path / "node2" / "lists" / "dating-extra.txt").exists()
        assert len(lists_server.requests) == 2  # once per node
