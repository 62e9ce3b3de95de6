// kidshield: small progressive enhancements; every page works without JavaScript.
"use strict";
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", () => {
  // Phones: the navigation folds behind a "Menu" button (without JavaScript it stays open).
  const toggle = document.querySelector(".menu-toggle");
  const top = document.querySelector("header.top");
  if (toggle && top) {
    toggle.hidden = false;
    toggle.addEventListener("click", () => {
      const open = top.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  // Sliders: show the minutes while dragging (the number is in the label without JavaScript).
  for (const range of document.querySelectorAll('input[type="range"]')) {
    const out = document.querySelector(`output[for="${range.id}"]`);
    if (out) range.addEventListener("input", () => { out.textContent = range.value; });
  }
  // Lists: show update progress while "update now" runs.
  for (const form of document.querySelectorAll("form[data-progress]")) {
    form.addEventListener("submit", () => {
      const out = form.querySelector(".progress");
      const timer = setInterval(async () => {
        try {
          const r = await fetch(form.dataset.progress, { credentials: "same-origin" });
          if (!r.ok) return;
          const lists = await r.json();
          if (out) out.textContent = lists.map((l) => `${l.name}: ${l.status}`).join(" · ");
        } catch (e) { clearInterval(timer); }
      }, 1000);
    });
  }
});
