"""Learning pages on the served app (the server `kidshield serve` runs, on loopback): lessons
per band with local helplines, quiz results saved per device through the CSRF-protected form,
the parents' progress overview, workshops and the self-assessment form."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import httpx
import pytest

from kidshield.education.assess import pointer_kind, questionnaire
from kidshield.education.lessons import default_library
from kidshield.education.progress import ProgressStore
from tests.e2e.fixtures import served_household
from tests.e2e.harness import Served


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The household served as `kidshield serve` serves it: 127.0.0.1 is Mia's tablet (9-12)."""
    # on the household's fixed Wednesday afternoon, not the real clock: nothing here may
    # depend on the hour a run starts (quiz results are dated, Mia has a bedtime)
    with served_household(tmp_path_factory.mktemp("learnweb")) as served:
        yield served


@pytest.fixture()
def client(live: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url) as c:
        yield c


def token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "the form carries a CSRF token"
    return found.group(1)


def answer(client: httpx.Client, band: str, topic: str, right: int) -> httpx.Response:
    """Answer the quiz with ``right`` right answers (the rest wrong), as the form does."""
    lesson = default_library().get(band, topic)
    assert lesson is not None
    page = client.get(lesson.url)
    data = {"csrf": token(page)}
    for i, q in enumerate(lesson.header.quiz):
        data[f"q{i}"] = str(q.answer if i < right else (q.answer + 1) % len(q.choices))
    return client.post(f"{lesson.url}/quiz", data=data, headers={"Accept": "application/json"})


def test_lesson_pages_for_each_band_have_the_quiz_and_local_helplines(
    client: httpx.Client,
) -> None:
    for band in ("under-9", "9-12", "13-18"):
        page = client.get(f"/learn/{band}/getting-help")
        assert page.status_code == 200
        assert 'name="q0"' in page.text and "Childline" in page.text  # country GB
        assert "<style" not in page.text and "<script>" not in page.text  # CSP: files only
        assert re.findall(r'(?:href|src)="(https?://[^"]+\.(?:css|js))"', page.text) == []
    assert client.get("/learn/assets/learn.js").status_code == 200
    assert client.get("/learn/guide/parents").status_code == 200
    assert client.get("/learn/9-12/nope").status_code == 404
    index = client.get("/learn")
    assert index.status_code == 200 and "/learn/13-18/strangers" in index.text


def test_quiz_results_are_stored_for_the_devices_own_profile_only(
    client: httpx.Client, live: Served,
) -> None:
    store = ProgressStore(live.app.db)
    first = answer(client, "9-12", "privacy", right=3)
    assert first.json()["saved"] is True and first.json()["right"] == 3
    answer(client, "9-12", "privacy", right=1)
    [p] = [p for p in store.for_profile("mia") if p.topic == "privacy"]
    assert (p.band, p.best_score, p.attempts) == ("9-12", 3, 2)
    assert "✓ done" in client.get("/learn").text
    # the page cannot choose a profile: an extra field is ignored
    lesson = default_library().get("13-18", "privacy")
    assert lesson is not None
    page = client.get(lesson.url)
    client.post(f"{lesson.url}/quiz", data={"csrf": token(page), "profile": "other",
                                             **{f"q{i}": "0" for i in range(4)}})
    assert store.for_profile("other") == []
    # a half-answered quiz is marked but not saved
    page = client.get("/learn/13-18/kindness")
    half = client.post("/learn/13-18/kindness/quiz", data={"csrf": token(page), "q0": "0"},
                       headers={"Accept": "application/json"}).json()
    assert half["saved"] is False and half["complete"] is False
    assert half["correct"][1:] == [None] * (len(half["correct"]) - 1)


def test_progress_overview_needs_a_parent(client: httpx.Client, live: Served) -> None:
    assert client.get("/learn/progress", follow_redirects=False).status_code in (303, 401)
    answer(client, "under-9", "kindness", right=3)
    signed_in, _headers = live.parent()
    page = signed_in.get("/learn/progress")
    assert page.status_code == 200 and "under-9 / kindness" in page.text and "mia" in page.text


@pytest.mark.parametrize("lang", ["ar", "es", "fr", "ru", "zh"])
def test_every_lesson_is_served_in_the_pages_language(client: httpx.Client, lang: str) -> None:
    """No lesson falls back to English inside a translated page: the list and every lesson
    page are in the visitor's language."""
    lib = default_library()
    index = client.get("/learn", headers={"accept-language": lang}).text
    for band in ("under-9", "9-12", "13-18"):
        for lesson in lib.band(band, lang):
            assert lesson.lang == lang, lesson.path
            assert lesson.title in index
            page = client.get(lesson.url, headers={"accept-language": lang})
            assert page.status_code == 200
            assert f'<article class="card lesson" lang="{lang}">' in page.text, lesson.url
            assert lesson.header.quiz[0].question in page.text


# How the lessons say "right" in each language: a child who picked a wrong choice must not
# read one of these above why their answer was wrong (the explanations once began with them)
AFFIRMATIONS = {
    "en": ("Correct", "Right", "Yes", "Good", "Well done"),
    "es": ("Correcto", "Así es", "Bien", "Muy bien", "Sí", "¡Sí"),
    "fr": ("Bien", "Bravo", "C’est ça", "Exact", "Oui"),
    "ru": ("Верно", "Да", "Молодец", "Правильно", "Хорошо"),
    "zh": ("对", "很好", "正确", "做得好", "算"),
    "ar": ("أحسنت", "صحيح", "نعم"),
}


def explanations(page: str) -> list[tuple[str, str]]:
    """(right or wrong, text) of each question's explanation on a marked quiz page."""
    return [(kind, html.unescape(text)) for kind, text in re.findall(
        r'<div class="explain(?: explain-(right|wrong))?">([^<]*)</div>', page)]


@pytest.mark.parametrize("lang", sorted(AFFIRMATIONS))
def test_a_wrong_answer_is_not_told_it_is_right(client: httpx.Client, lang: str) -> None:
    praise = re.compile(rf"^(?:{'|'.join(AFFIRMATIONS[lang])})\s*[.!。！]")
    lib = default_library()
    headers = {"accept-language": lang}
    for band in ("under-9", "9-12", "13-18"):
        for lesson in lib.band(band, lang):
            quiz = lesson.header.quiz
            form = {"csrf": token(client.get(lesson.url, headers=headers))}
            wrong = {**form, **{f"q{i}": str((q.answer + 1) % len(q.choices))
                                for i, q in enumerate(quiz)}}
            said = explanations(client.post(f"{lesson.url}/quiz", data=wrong,
                                            headers=headers).text)
            for q, (_, text) in zip(quiz, said, strict=True):
                assert not praise.match(text), (lesson.path, text)
                assert q.choices[q.answer] in text, (lesson.path, text)  # names the answer
            assert [kind for kind, _ in said] == ["wrong"] * len(quiz), lesson.path
            right = {**form, **{f"q{i}": str(q.answer) for i, q in enumerate(quiz)}}
            said = explanations(client.post(f"{lesson.url}/quiz", data=right,
                                            headers=headers).text)
            assert [kind for kind, _ in said] == ["right"] * len(quiz), lesson.path
            # the lesson's own praise, as written, before every explanation (one question a
            # language, 9-12 privacy's first, had none: its explanation came alone)
            assert all(praise.match(text) for _, text in said), (lesson.path, said)


def test_workshop_pages_link_the_steps_and_end_with_the_debrief(client: httpx.Client) -> None:
    assert "student-vpn" in client.get("/workshop").text
    page = client.get("/workshop/grooming-message")
    assert page.status_code == 200
    assert 'class="card step first" id="step-start"' in page.text
    assert 'href="#step-listen"' in page.text and "Debrief" in page.text
    assert client.get("/workshop/nope").status_code == 404


def test_assessment_form_produces_a_report_with_drill_evidence(client: httpx.Client) -> None:
    form_page = client.get("/assess")
    assert "COP-14" in form_page.text and "sexual abuse material" in form_page.text
    drill = {"checks": [{"id": "this-device", "status": "fail"}], "summary": {}}
    form = {"csrf": token(form_page), "organisation": "Hillside", "sections": "schools",
            "schools.COP-9": "yes", "schools.COP-14": "no", "schools.COP-10": "yes",
            "drill": json.dumps(drill)}
    page = client.post("/assess", data=form)
    assert page.status_code == 200, page.text
    assert 'id="schools-COP-14"' in page.text and "Hillside" in page.text
    assert 'id="schools-COP-10"' in page.text  # contradicted by the drill
    assert "this-device failed" in page.text
    md = client.post("/assess?format=md", data=form)
    assert md.headers["content-type"].startswith("text/markdown")
    assert "**COP-14**" in md.text
    assert client.post("/assess", data={**form, "drill": "{nope"}).status_code == 400
    assert client.post("/assess", data={"csrf": form["csrf"], "x": "y"}).status_code == 400
    assert client.post("/assess", data={k: v for k, v in form.items()
                                        if k != "csrf"}).status_code == 403


PAGES = sorted({p for s in questionnaire().section for i in s.item for p in i.pointers
                if pointer_kind(p) == "page"})


@pytest.mark.parametrize("pointer", PAGES)
def test_every_page_the_assessment_points_to_is_served(client: httpx.Client,
                                                       pointer: str) -> None:
    r = client.get(pointer, follow_redirects=False)
    if r.status_code == 303:  # a staff page: it asks the visitor to sign in
        assert r.headers["location"].startswith("/login"), pointer
    else:
        assert r.status_code == 200, pointer
