"""Lessons and workshops in Chromium against the served app (the server `kidshield serve`
runs, with its Content-Security-Policy): the quiz hides its answers until the child checks,
marks the answers and saves the score for the device's profile through a CSRF-protected form;
a workshop shows one step at a time and follows the group's choices to an ending."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kidshield.education.lessons import default_library
from kidshield.education.progress import ProgressStore
from tests.e2e.harness import Served, chromium
from tests.education.helpers import served_household_live
from tests.screenshots import images_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The household served as `kidshield serve` serves it: 127.0.0.1 is Mia's tablet (9-12)."""
    with served_household_live(tmp_path_factory.mktemp("learn")) as served:
        yield served


@pytest.fixture(scope="module")
def browser(live: Served) -> Iterator[Any]:
    with chromium() as b:
        yield b


def open_page(browser: Any, live: Served, path: str,
              **options: Any) -> tuple[Any, list[str]]:
    """A page and the console errors it logs (a CSP violation is one)."""
    context = browser.new_context(base_url=live.url, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    context.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
               else None)
    page.goto(path)
    return page, errors


def test_quiz_hides_answers_marks_them_and_saves_the_score_for_the_device(
    live: Served, browser: Any,
) -> None:
    lesson = default_library().get("9-12", "strangers")
    assert lesson is not None
    quiz = lesson.header.quiz
    page, errors = open_page(browser, live, lesson.url)
    # the stylesheet loaded under the CSP: no explanation shows before the child answers
    assert page.locator(".quiz .explain").first.is_hidden()
    assert page.locator("fieldset[data-question]").count() == len(quiz)
    # every answer right but the last
    for i, q in enumerate(quiz):
        choice = q.answer if i < len(quiz) - 1 else (q.answer + 1) % len(q.choices)
        page.check(f'input[name="q{i}"][value="{choice}"]')
    page.click("text=Check my answers")
    result = page.locator(".quiz .result")
    result.filter(has_text=f"{len(quiz) - 1} of {len(quiz)} right").wait_for()
    assert page.url.endswith(lesson.url)  # marked in place: the script ran
    assert page.locator("fieldset.right").count() == len(quiz) - 1
    assert page.locator("fieldset.wrong").count() == 1
    # each says its own verdict: the wrong answer is told so and given the right one
    wrong = page.locator("fieldset.wrong .explain-wrong")
    assert wrong.is_visible() and page.locator("fieldset.wrong .explain-right").is_hidden()
    last = quiz[-1]
    assert wrong.inner_text() == last.said_wrong(
        f"Not quite. The answer is: {last.choices[last.answer]}")
    assert page.locator("fieldset.right .explain-right").first.is_visible()
    assert page.locator("fieldset.right .explain-wrong").first.is_hidden()
    assert not [e for e in errors if "Content Security Policy" in e], errors

    # saved for Mia (this device), as the best score; the index shows the lesson done
    saved = [p for p in ProgressStore(live.app.db).for_profile("mia")
             if p.topic == "strangers"]
    assert [(p.band, p.best_score, p.total, p.attempts) for p in saved] == [
        ("9-12", len(quiz) - 1, len(quiz), 1)]
    page.goto("/learn")
    assert page.locator(f'a[href="{lesson.url}"] .done').is_visible()
    page.context.close()


def test_quiz_without_javascript_is_marked_by_the_server(live: Served,
                                                         browser: Any) -> None:
    lesson = default_library().get("13-18", "privacy")
    assert lesson is not None
    page, _errors = open_page(browser, live, lesson.url, java_script_enabled=False)
    for i, q in enumerate(lesson.header.quiz):
        page.check(f'input[name="q{i}"][value="{q.answer}"]')
    page.click("text=Check my answers")
    page.wait_for_url(f"**{lesson.url}/quiz")
    n = len(lesson.header.quiz)
    assert f"{n} of {n} right. Well done!" in page.locator(".quiz .result").inner_text()
    assert page.locator("fieldset.right").count() == n
    page.context.close()


def test_progress_cannot_be_written_without_the_pages_token(live: Served) -> None:
    """Another site's page cannot post a child's quiz results: no CSRF token, no write."""
    db = live.app.db
    before = ProgressStore(db).all()
    with httpx.Client(base_url=live.url) as client:
        client.get("/learn/under-9/privacy")  # has the cookie, but not the page's token
        r = client.post("/learn/under-9/privacy/quiz", data={"q0": "0", "q1": "0"})
        assert r.status_code == 403
        r = client.post("/learn/under-9/privacy/quiz", data={"q0": "0", "csrf": "forged"},
                        headers={"Accept": "application/json"})
        assert r.status_code == 403
        # the old JSON endpoint that took any score is gone
        r = client.post("/learn/under-9/privacy/progress", json={"score": 3, "total": 3})
        assert r.status_code in (404, 405)
    assert ProgressStore(db).all() == before


def test_workshop_shows_one_step_at_a_time_and_follows_choices_to_the_debrief(
    live: Served, browser: Any,
) -> None:
    page, errors = open_page(browser, live, "/workshop/grooming-message")
    steps = page.locator("section.step")
    assert steps.count() > 3
    visible = [s for s in steps.all() if s.is_visible()]
    assert len(visible) == 1  # the first step only, not every branch and ending at once
    assert page.locator("text=Debrief").first.is_hidden()
    # follow the first choice until an ending
    for _ in range(10):
        current = next(s for s in steps.all() if s.is_visible())
        if current.locator("h2").count() and "Debrief" in current.inner_text():
            break
        current.locator("ol a").first.click()
    shown = [s for s in steps.all() if s.is_visible()]
    assert len(shown) == 1 and "Debrief" in shown[0].inner_text()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    page.context.close()


# True when the page's fonts draw ``ch`` (a character no font has draws as the same empty box)
GLYPH_DRAWN = """(ch) => {
  const draw = (text) => {
    const c = document.createElement('canvas'); c.width = 48; c.height = 48;
    const x = c.getContext('2d');
    x.font = '32px ' + getComputedStyle(document.body).fontFamily;
    x.fillText(text, 4, 36);
    return Array.from(x.getImageData(0, 0, 48, 48).data).join(',');
  };
  return draw(ch) !== draw('\\u{10FFFD}');
}"""
SAMPLE = {"ar": "ع", "zh": "中", "ru": "ж", "en": "a"}


def test_lesson_screenshots_for_each_band(live: Served, browser: Any) -> None:
    """The lessons as a child sees them, Chinese and Arabic drawn with real glyphs (the fonts
    in scripts/apt-packages), saved for the docs."""
    images = images_dir()  # docs/images with KIDSHIELD_SCREENSHOTS=1
    for path, lang, name in (
            ("/learn/under-9/strangers", "en", "lesson-under-9"),
            ("/learn/9-12/privacy", "en", "lesson-9-12"),
            ("/learn/13-18/private-pictures", "en", "lesson-13-18"),
            ("/learn/under-9/scams", "ar", "lesson-under-9-arabic"),
            ("/learn/9-12/wellbeing", "zh", "lesson-9-12-chinese"),
            ("/workshop/bullied-classmate#step-support", "ru", "workshop-russian")):
        page, errors = open_page(browser, live, f"{path.replace('#', f'?lang={lang}#')}"
                                 if "#" in path else f"{path}?lang={lang}",
                                 viewport={"width": 900, "height": 1300})
        assert page.locator("h1").first.is_visible()
        assert page.evaluate("document.documentElement.lang") == lang
        assert page.evaluate(GLYPH_DRAWN, SAMPLE[lang]), f"no font draws {lang} text"
        assert page.locator("nav.langs a[lang=zh]").inner_text() == "中文"
        assert page.evaluate(GLYPH_DRAWN, "中")  # the language menu's Chinese, not boxes
        if "/under-9/" in path:  # an illustrated story, with pictures that loaded
            assert page.locator(".scene img").count() >= 3
            assert page.evaluate("Array.from(document.querySelectorAll('.scene img'))"
                                 ".every(i => i.naturalWidth > 0)")
        page.screenshot(path=str(images / f"{name}.png"), full_page=True)
        assert not errors, errors
        page.context.close()


RECORD_SPEECH = """
window.__spoken = [];
if (window.speechSynthesis) {
  window.speechSynthesis.speak = (u) => { window.__spoken.push([u.lang, u.text]); };
}
"""


def test_under_9_story_in_arabic_reads_aloud_right_to_left(live: Served,
                                                           browser: Any) -> None:
    """The story, its quiz and the page around it in Arabic; "Read to me" hands the title and
    every scene to the browser's speech synthesis, in Arabic."""
    lesson = default_library().get("under-9", "scams", "ar")
    assert lesson is not None and lesson.lang == "ar"
    context = browser.new_context(base_url=live.url)
    context.add_init_script(RECORD_SPEECH)
    page = context.new_page()
    page.goto(f"{lesson.url}?lang=ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.locator("h1").inner_text() == lesson.title
    button = page.locator("button.read-aloud")
    assert button.is_visible() and button.inner_text() == "اقرأ لي"
    button.click()
    spoken = page.evaluate("window.__spoken")
    assert [text for _lang, text in spoken] == [lesson.title,
                                                 *[s.text for s in lesson.header.scene]]
    assert {lang for lang, _text in spoken} == {"ar"}
    assert button.get_attribute("aria-pressed") == "true"
    page.check('input[name="q0"][value="1"]')
    page.check('input[name="q1"][value="1"]')
    page.check('input[name="q2"][value="1"]')
    page.click("button[type=submit]")
    page.locator(".quiz .result").filter(has_text="أحسنت").wait_for()
    context.close()
