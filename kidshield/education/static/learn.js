// kidshield lessons and workshops: small enhancements served as a file (the server's
// Content-Security-Policy allows no inline scripts). Everything works without JavaScript:
// the quiz form posts to the server, which marks it and saves the result; workshop steps
// are shown by CSS (:target).
"use strict";

function markQuiz(form, result) {
  const sets = form.querySelectorAll("fieldset[data-question]");
  sets.forEach((fs, i) => {
    fs.classList.remove("right", "wrong");
    const verdict = result.correct[i];
    if (verdict === true) fs.classList.add("right");
    if (verdict === false) fs.classList.add("wrong");
  });
  const out = form.querySelector(".result");
  if (out) out.textContent = result.message;
}

function enhanceQuiz(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        // sent as the form itself is (urlencoded), with its CSRF field
        method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) {
        form.submit();  // let the server's page say what went wrong
        return;
      }
      markQuiz(form, await response.json());
    } catch (e) {
      form.submit();
    } finally {
      if (button) button.disabled = false;
    }
  });
}

// "Read to me": the browser's own speech synthesis reads the story, scene by scene, in the
// page's language. No sound files, nothing sent anywhere.
function enhanceReadAloud(button) {
  if (!("speechSynthesis" in window) || typeof SpeechSynthesisUtterance === "undefined") return;
  // the lesson's own language (a lesson not yet translated is shown in English)
  const lang = (button.closest("[lang]") || document.documentElement).lang || "en";
  const parts = Array.from(document.querySelectorAll(button.dataset.read || ".say"))
    .map((e) => e.textContent.trim()).filter((t) => t);
  if (!parts.length) return;
  button.hidden = false;
  const startLabel = button.textContent;
  const stopLabel = button.dataset.stop || startLabel;
  let speaking = false;
  const stop = () => {
    window.speechSynthesis.cancel();
    speaking = false;
    button.textContent = startLabel;
    button.setAttribute("aria-pressed", "false");
  };
  button.addEventListener("click", () => {
    if (speaking) { stop(); return; }
    window.speechSynthesis.cancel();
    const base = lang.split("-")[0];
    const voice = window.speechSynthesis.getVoices().find((v) => v.lang.toLowerCase().startsWith(base));
    parts.forEach((text, i) => {
      const u = new SpeechSynthesisUtterance(text);
      u.lang = lang;
      u.rate = 0.9;
      if (voice) u.voice = voice;
      if (i === parts.length - 1) u.onend = stop;
      window.speechSynthesis.speak(u);
    });
    speaking = true;
    button.textContent = stopLabel;
    button.setAttribute("aria-pressed", "true");
  });
}

// Workshops: move keyboard focus to the step that is shown, so screen readers follow.
function followSteps() {
  const focusStep = () => {
    const id = decodeURIComponent(location.hash.slice(1));
    const step = id && document.getElementById(id);
    if (step && step.classList.contains("step")) {
      const heading = step.querySelector("h2, p");
      if (heading) { heading.tabIndex = -1; heading.focus(); }
    }
  };
  window.addEventListener("hashchange", focusStep);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form.quiz").forEach(enhanceQuiz);
  document.querySelectorAll("button.read-aloud").forEach(enhanceReadAloud);
  if (document.querySelector(".steps")) followSteps();
});
