"""Every error a child can meet on the child's forms is a page for the child, in their
language (session 16b): a NUL in a question, a form past its size, a stale or missing CSRF
token, a GET on a form's address. They were the dashboard's adult error page, in English
("400 a NUL character (\\u0000, %00) is not allowed in text", with the dashboard's links)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.harness import Served, page_csrf

P = tuple[httpx.Client, dict[str, str]]
BLOCK_HOST = {"Host": "casino.example"}
ASK = "/.well-known/kidshield/ask"
# the child's forms: (path, extra headers); the block page's ask form is served for a
# blocked name
FORMS: tuple[tuple[str, dict[str, str]], ...] = (
    ("/me/ask", {}), ("/me/pause", {}), ("/me/allow", {}), (ASK, BLOCK_HOST))
WORDS = {"en": "That did not work", "fr": "Ça n’a pas marché", "ar": 'dir="rtl"'}


def _child_page(r: httpx.Response, lang: str, where: object) -> None:
    assert r.status_code < 500, (where, r.status_code)
    assert "/api/v1/openapi.json" not in r.text, (where, r.text[:300])  # the dashboard's page
    assert 'class="card"' in r.text and WORDS[lang] in r.text, (where, r.text[:400])


def _csrf(child: httpx.Client) -> str:
    return page_csrf(child, "/me")


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_a_nul_in_a_childs_form_gets_a_child_page_in_their_language(served: Served,
                                                                    parent: P, lang: str) -> None:
    child = served.client()
    csrf = _csrf(child)
    for path, headers in FORMS:
        form = {"csrf": csrf, "name": "casino.example", "message": "please\x00", "pin": "1\x002",
                "minutes": "30"}
        r = child.post(path, data=form, headers={**headers, "Accept-Language": lang})
        assert r.status_code == 400, (path, r.status_code)
        _child_page(r, lang, path)
        assert "NUL" not in r.text and "%00" not in r.text, path
    if lang == "fr":
        r = child.post("/me/ask", data={"csrf": csrf, "name": "casino.example",
                                        "message": "a\x00"}, headers={"Accept-Language": "fr"})
        assert "un caractère que nous ne savons pas lire" in r.text, r.text[:500]
    client, _h = parent
    assert client.get("/api/v1/requests").json() == []  # nothing was stored


def test_a_pin_form_past_its_size_gets_a_child_page(served: Served) -> None:
    child = served.client()
    csrf = _csrf(child)
    for path in ("/me/pause", "/me/allow"):
        for lang in ("en", "ar"):
            r = child.post(path, data={"csrf": csrf, "pin": "1234", "name": "x" * 9000},
                           headers={"Accept-Language": lang})
            assert r.status_code == 413, (path, r.status_code)
            _child_page(r, lang, (path, lang))
            assert "8192" not in r.text


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_stale_or_missing_form_token_gets_a_child_page(served: Served, lang: str) -> None:
    child = served.client()
    _csrf(child)  # the cookie the page sets; the token the form sends is wrong or missing
    for path, headers in FORMS:
        for form in ({"csrf": "stale", "name": "casino.example", "pin": "1"},
                     {"name": "casino.example", "pin": "1"}):
            r = child.post(path, data=form, headers={**headers, "Accept-Language": lang})
            assert r.status_code == 403, (path, r.status_code)
            _child_page(r, lang, (path, form))
            assert "CSRF" not in r.text, path


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_opening_a_childs_form_address_gets_a_child_page(served: Served, lang: str) -> None:
    child = served.client()
    for path in ("/me/ask", "/me/pause", "/me/allow"):
        r = child.get(path, headers={"Accept-Language": lang})
        assert r.status_code == 405 and r.headers["allow"] == "POST", (path, r.status_code)
        _child_page(r, lang, path)
        assert "Open my protection page" in r.text or lang != "en"
    r = child.post("/me", headers={"Accept-Language": lang})
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    _child_page(r, lang, "/me")


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_blocked_sites_form_or_odd_address_still_gets_the_block_page(served: Served,
                                                                       lang: str) -> None:
    # a form of the blocked site posted to it (a sign-in, a search) was the dashboard's 405,
    # an address with %00 in its query the dashboard's 400, both in English
    child = served.client()
    block = child.get("/", headers={**BLOCK_HOST, "Accept-Language": lang})
    assert block.status_code == 403 and "casino.example" in block.text
    for method, path in (("POST", "/login"), ("GET", "/search?q=%00"), ("GET", ASK),
                         ("PUT", "/x?y=%00")):
        r = child.request(method, path, headers={**BLOCK_HOST, "Accept-Language": lang},
                          data={"user": "mia"} if method != "GET" else None)
        assert r.status_code == 403, (method, path, r.status_code)
        assert "/api/v1/openapi.json" not in r.text, (method, path)
        assert "casino.example" in r.text and f'lang="{lang}"' in r.text, (method, path)


def test_missing_fields_and_many_wrong_pins_stay_child_pages(served: Served,
                                                            parent: P) -> None:
    client, headers = parent
    assert client.put("/api/v1/pin", json={"pin": "864213"}, headers=headers).status_code == 200
    child = served.client()
    csrf = _csrf(child)
    for path, extra in FORMS:
        r = child.post(path, data={"csrf": csrf}, headers={**extra, "Accept-Language": "ar"})
        _child_page(r, "ar", path)
    statuses = []
    for _ in range(7):
        r = child.post("/me/pause", data={"csrf": csrf, "pin": "111111", "minutes": "30"},
                       headers={"Accept-Language": "ar"})
        _child_page(r, "ar", "pin")
        statuses.append(r.status_code)
    assert statuses[-1] == 429, statuses
    assert re.search(r"<html[^>]+lang=\"ar\"", r.text), r.text[:200]


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_lessons_quiz_refused_at_the_door_shows_the_lesson_again(served: Served,
                                                                   lang: str) -> None:
    # learn.js posts the quiz form itself when its fetch fails ("let the server's page say
    # what went wrong"): a stale page, a NUL or the quiz's address opened was the
    # dashboard's English error page
    child = served.client()
    quiz = "/learn/9-12/privacy/quiz"
    lesson = child.get("/learn/9-12/privacy", headers={"Accept-Language": lang})
    csrf = re.search(r'name="csrf" value="([^"]+)"', lesson.text)
    assert lesson.status_code == 200 and csrf
    said = {"en": ("This page was open for too long", "What you wrote had a character"),
            "ar": ("بقيت هذه الصفحة مفتوحة", "فيما كتبته حرف")}[lang]
    for form, status, words in (({"csrf": "stale", "q0": "0"}, 403, said[0]),
                                ({"csrf": csrf.group(1), "q0": "0\x00"}, 400, said[1]),
                                (None, 405, "")):
        if form is None:
            r = child.get(quiz, headers={"Accept-Language": lang})
            assert r.headers["allow"] == "POST"
        else:
            r = child.post(quiz, data=form, headers={"Accept-Language": lang})
        assert r.status_code == status, (form, r.status_code)
        assert 'name="q0"' in r.text and f'lang="{lang}"' in r.text, r.text[:300]
        assert "/api/v1/openapi.json" not in r.text and words in r.text, r.text[:300]
    # the page's script asks for JSON: it still gets the JSON error it can read
    r = child.post(quiz, data={"csrf": "stale"}, headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"


def test_the_childs_report_form_refused_at_the_door_is_the_childs_form_again(
        served: Served) -> None:
    # a stale page or a NUL on /report?for=child gave the dashboard's error page (its
    # footer, "هناك شيء غير صحيح"); the form now posts to /report?for=child so the answer
    # knows it was the child's
    child = served.client()
    form = child.get("/report?for=child", headers={"Accept-Language": "ar"})
    assert 'action="/report?for=child"' in form.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    for data, status, words in (({"csrf": "stale", "for_child": "1"}, 403,
                                 "بقيت هذه الصفحة مفتوحة"),
                                ({"csrf": csrf.group(1), "for_child": "1",
                                  "description": "a\x00"}, 400, "فيما كتبته حرف")):
        r = child.post("/report?for=child", data=data, headers={"Accept-Language": "ar"})
        assert r.status_code == status, (status, r.text[:300])
        assert "/api/v1/openapi.json" not in r.text and words in r.text, r.text[:400]
        assert 'id="report-form"' in r.text and 'lang="ar"' in r.text
    # the adult form keeps the server's error page
    r = child.post("/report", data={"csrf": "stale"})
    assert r.status_code == 403 and 'id="report-form"' not in r.text
