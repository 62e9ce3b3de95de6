"""Issue 15, items 1 and 4: hash banks and message checks need their own permission, and
every write a browser makes with its cookies needs the CSRF token (or cannot be made from
another site at all)."""

from __future__ import annotations

import httpx

from tests.e2e.harness import Served, csrf_of


def _bank(served: Served) -> dict[str, str]:
    admin, headers = served.parent()
    r = admin.post("/api/v1/media/banks", json={"name": "known"}, headers=headers)
    assert r.status_code == 201, r.text
    return headers


def test_a_plain_parent_or_a_moderator_cannot_switch_off_or_fill_a_hash_bank(
        served: Served) -> None:
    _bank(served)
    fill = {"hashes": ["f" * 64]}
    for role in ("parent", "moderator"):
        client, headers = served.account(f"a {role}", role)
        off = client.patch("/api/v1/media/banks/known", json={"enabled": False},
                           headers=headers)
        assert off.status_code == 403 and "not allowed" in off.json()["detail"], role
        added = client.post("/api/v1/media/banks/known/hashes", json=fill, headers=headers)
        assert added.status_code == 403, role
    banks = served.app.features.media.banks()  # type: ignore[union-attr]
    assert [(b.bank.enabled, b.hashes) for b in banks] == [(True, 0)]
    analyst, headers = served.account("an analyst", "analyst")
    assert analyst.patch("/api/v1/media/banks/known", json={"enabled": False},
                         headers=headers).status_code == 200


def test_a_plain_parent_cannot_use_the_message_checks_that_file_cases(served: Served) -> None:
    client, headers = served.account("a parent", "parent")
    r = client.post("/api/v1/assess/message", json={"text": "hi"}, headers=headers)
    assert r.status_code == 403
    moderator, headers = served.account("a moderator", "moderator")
    assert moderator.post("/api/v1/assess/message", json={"text": "hi"},
                          headers=headers).status_code == 200


def _case(served: Served) -> int:
    with served.client() as reporter:
        r = reporter.post("/api/v1/reports", json={"url": "https://chat.test/u/1",
                                                    "case_type": "bullying"})
        assert r.status_code == 201, r.text
    cases = served.app.features.reports.queue("test")  # type: ignore[union-attr]
    return cases[0].id


def test_staff_and_feature_writes_with_only_the_cookie_are_refused(served: Served) -> None:
    case = _case(served)
    admin, headers = served.parent()
    page = admin.get(f"/cases/{case}")
    assert page.status_code == 200
    forged = {
        "case note form": admin.post(f"/cases/{case}/note", data={"text": "forged"}),
        "case note api": admin.post(f"/api/v1/cases/{case}/notes", json={"text": "forged"}),
        "new bank": admin.post("/api/v1/media/banks", json={"name": "forged"}),
        "assess": admin.post("/api/v1/assess/message", json={"text": "hi"}),
    }
    assert {k: r.status_code for k, r in forged.items()} == dict.fromkeys(forged, 403)
    view = served.app.features.reports.view(case, "test")  # type: ignore[union-attr]
    assert view.notes == []
    assert served.app.features.media.banks() == []  # type: ignore[union-attr]
    # with the page's token they go through
    ok = admin.post(f"/cases/{case}/note", data={"text": "real", "csrf": csrf_of(page.text)},
                    follow_redirects=False)
    assert ok.status_code == 303 and "error" not in ok.headers["location"]
    assert [n.text for n in served.app.features.reports.view(  # type: ignore[union-attr]
        case, "test").notes] == ["real"]
    assert admin.post(f"/api/v1/cases/{case}/notes", json={"text": "real"},
                      headers=headers).status_code == 201


def test_sign_in_cannot_be_forged_from_another_site(served: Served) -> None:
    served.parent()
    body = '{"name": "Alex", "password": "correct horse battery"}'
    with httpx.Client(base_url=served.url) as victim:
        # a form on another site can post text/plain, which is not JSON here
        r = victim.post("/api/v1/login", content=body, headers={"content-type": "text/plain"})
        assert r.status_code == 415 and "ks_session" not in r.headers.get("set-cookie", "")
        # and whatever it posts, the browser says where it came from
        r = victim.post("/api/v1/login", content=body, headers={
            "content-type": "application/json", "origin": "https://evil.example"})
        assert r.status_code == 403 and "ks_session" not in r.headers.get("set-cookie", "")
        r = victim.post("/login", data={"name": "Alex", "password": "x"},
                        headers={"sec-fetch-site": "cross-site"})
        assert r.status_code == 403


def test_a_write_from_this_servers_own_pages_passes_the_origin_check(served: Served) -> None:
    client, headers = served.parent()
    own = {**headers, "origin": served.url, "sec-fetch-site": "same-origin"}
    r = client.post("/api/v1/pause", json={"profile": "mia", "minutes": 5}, headers=own)
    assert r.status_code == 200
    sibling = {**headers, "origin": served.url.rsplit(":", 1)[0] + ":1"}
    r = client.post("/api/v1/pause", json={"profile": "mia", "minutes": 5}, headers=sibling)
    assert r.status_code == 403
