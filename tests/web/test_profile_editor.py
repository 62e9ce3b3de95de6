"""The profile editor (issue 16 item 3) on the served app: saving twice keeps every field
(the old form rendered "Also block" empty and a second save wrote it empty), categories and
services as toggles with their names, budgets, the birth date kept so the band grows with the
child, and problems shown at the field with what was typed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from kidshield.clock import FixedClock
from kidshield.policy.reason import Reason
from kidshield.web import actions
from tests.e2e.fixtures import ServeConfig
from tests.e2e.harness import Served
from tests.e2e.household import AFTERNOON, config_text, write_lists
from tests.e2e.upstream import FakeUpstream

MIA = '''name = "Mia"
extra_blocked_services = ["tiktok", "roblox"]
allow = ["khanacademy.org"]
allow_free_time = ["minecraft.net"]
deny = ["games.example"]
safe_search = "moderate"
'''


def _form_fields(html: str) -> list[tuple[str, str]]:
    """What a browser would post for the editor form as shown (checked boxes, selected
    options, text, textareas)."""
    form = html[html.index('<form method="post" action="/profiles/mia" class="stack editor"'):]
    form = form[:form.index("</form>")]
    fields: list[tuple[str, str]] = []
    for tag in re.finditer(r"<input ([^>]*)>", form):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', tag.group(1)))
        flags = set(re.findall(r"\s(checked|disabled)(?=[\s>]|$)", " " + tag.group(1)))
        kind = attrs.get("type", "text")
        if "name" not in attrs or "disabled" in flags:
            continue
        if kind in ("checkbox", "radio") and "checked" not in flags:
            continue
        fields.append((attrs["name"], attrs.get("value", "on")))
    for sel in re.finditer(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', sel.group(2)) or re.search(
            r'<option value="([^"]*)"', sel.group(2))
        assert chosen is not None
        fields.append((sel.group(1), chosen.group(1)))
    for area in re.finditer(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields.append((area.group(1), area.group(2)))
    return fields


def _save(client: httpx.Client, fields: list[tuple[str, str]]) -> httpx.Response:
    from urllib.parse import urlencode

    return client.post("/profiles/mia", content=urlencode(fields), headers={
        "Content-Type": "application/x-www-form-urlencoded"})


def _serve(serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> Served:
    write_lists(tmp_path)
    return serve_config(config_text(upstream.port).replace('name = "Mia"\n', MIA),
                        FixedClock(AFTERNOON))


def test_saving_twice_keeps_every_field(serve_config: ServeConfig, upstream: FakeUpstream,
                                        tmp_path: Path) -> None:
    served = _serve(serve_config, upstream, tmp_path)
    client, _headers = served.parent()
    before = served.app.config.profiles["mia"].model_dump()
    page = client.get("/profiles/mia").text
    # the extra blocked services show as switched on
    assert re.search(r'name="svc" value="tiktok" checked', page)
    assert re.search(r'name="svc" value="roblox" checked', page)
    for _ in range(2):
        r = _save(client, _form_fields(page))
        assert r.status_code == 200 and "Nothing was changed." in r.text
        page = r.text
    assert served.app.config.profiles["mia"].model_dump() == before
    assert served.web.editor.active() == ()  # no edit was even stored


def test_toggles_budgets_and_lists_save_what_changed(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    served = _serve(serve_config, upstream, tmp_path)
    client, _headers = served.parent()
    fields = [f for f in _form_fields(client.get("/profiles/mia").text)
              if f != ("svc", "tiktok") and f[0] != "budget.minecraft"]
    fields += [("svc", "youtube"), ("budget.minecraft", "45"),
               ("new_budget_service", "youtube"), ("new_budget_minutes", "30")]
    r = _save(client, fields)
    assert "Saved." in r.text
    mia = served.app.config.profiles["mia"]
    assert set(mia.extra_blocked_services) == {"roblox", "youtube"}
    assert mia.budgets == {"minecraft": 45, "youtube": 30}
    assert mia.allow == ["khanacademy.org"] and mia.deny == ["games.example"]
    assert mia.allow_free_time == ["minecraft.net"] and mia.safe_search == "moderate"
    ctx = served.web
    d = actions.decide_name(ctx, ctx.runtime.profiles["mia"], "tiktok.com")
    assert d.reason is not Reason.SERVICE  # switched off


def test_a_birth_date_is_kept_and_the_band_follows_it(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    served = _serve(serve_config, upstream, tmp_path)
    client, _headers = served.parent()
    fields = [(k, v) for k, v in _form_fields(client.get("/profiles/mia").text)
              if k not in ("age_mode", "birth_date")]
    fields += [("age_mode", "birth"), ("birth_date", "2016-03-04")]
    page = _save(client, fields).text
    mia = served.app.config.profiles["mia"]
    assert str(mia.birth_date) == "2016-03-04" and mia.age_band is None
    assert "From 2029-03-04: 13–15." in page
    # saving again (the band select shows the band now) keeps the birth date
    _save(client, _form_fields(page))
    assert str(served.app.config.profiles["mia"].birth_date) == "2016-03-04"


def test_a_bad_site_is_shown_at_its_field_with_what_was_typed(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    served = _serve(serve_config, upstream, tmp_path)
    client, _headers = served.parent()
    fields: list[Any] = [(k, v) for k, v in _form_fields(client.get("/profiles/mia").text)
                         if k != "deny"]
    fields.append(("deny", "games.example\nnot a site!"))
    r = _save(client, fields)
    assert r.status_code == 422 and "Saved." not in r.text
    assert 'id="deny" name="deny" rows="3" aria-invalid="true"' in r.text
    assert "games.example\nnot a site!</textarea>" in r.text
    assert served.app.config.profiles["mia"].deny == ["games.example"]


def test_a_category_no_list_provides_cannot_be_promised(
        serve_config: ServeConfig, upstream: FakeUpstream, tmp_path: Path) -> None:
    write_lists(tmp_path)
    text = config_text(upstream.port).replace('[server]\n', '[server]\nbuiltin_lists = false\n')
    served = serve_config(text, FixedClock(AFTERNOON))
    client, _headers = served.parent()
    page = client.get("/profiles/mia").text
    # only the household's own lists: gambling and self_harm
    assert re.search(r'name="cat" value="gambling" checked>', page)
    assert "No list provides this category" not in re.search(
        r'name="cat" value="gambling".*?</li>', page, re.S).group(0)  # type: ignore[union-attr]
    row = re.search(r'name="cat" value="weapons"[^>]*>.*?</li>', page, re.S)
    assert row is not None and "No list provides this category" in row.group(0)
    # not blocked and not provided: it cannot be switched on
    unprovided = re.search(r'name="cat" value="cults"[^>]*>', page)
    assert unprovided is not None
