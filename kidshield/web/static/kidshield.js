// kidshield: small progressive enhancements; every page works without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
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
