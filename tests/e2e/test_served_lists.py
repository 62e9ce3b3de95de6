"""Lists kept as dashboard edits are loaded as the file's are: by `kidshield lists update`
(the download job `serve` runs), by a reload, and as soon as the edits change (here or on
another node), with one build at a time."""

from __future__ import annotations

from typer.testing import CliRunner

from kidshield.cli import app as cli
from kidshield.state.overlay import Change
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
