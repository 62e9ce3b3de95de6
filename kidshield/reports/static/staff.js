// Staff case page: reveal blurred text evidence only when asked; each reveal is counted.
// The API wants the session's CSRF token with a write: /api/v1/me gives it.
(function () {
  "use strict";
  var form = document.getElementById("reveal-form");
  if (!form) { return; }
  function json(r) { return r.ok ? r.json() : Promise.reject(r.status); }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var caseId = document.querySelector(".evidence").getAttribute("data-case");
    fetch("/api/v1/me", { credentials: "same-origin" })
      .then(json)
      .then(function (me) {
        return fetch("/api/v1/cases/" + caseId + "/reveal", {
          method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": me.csrf }
        });
      })
      .then(json)
      .then(function (data) {
        document.querySelectorAll(".evidence.blurred").forEach(function (el) {
          var report = data.reports[Number(el.getAttribute("data-index"))];
          el.textContent = report && report.description ? report.description : "";
          el.classList.remove("blurred");
        });
        document.getElementById("exposure").textContent = String(data.reveals_today);
        form.remove();
      })
      .catch(function () { form.submit(); });
  });
})();

// Countdown to the target time of critical cases (queue and case page), updated every 20 s.
// Counted from the server's time at rendering (data-now), so a device whose clock is wrong
// still shows the right time left.
(function () {
  "use strict";
  var clocks = document.querySelectorAll("[data-target]");
  if (!clocks.length) { return; }
  var loaded = Date.now();
  function text(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var span = minutes >= 60
      ? Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min"
      : minutes + " min";
    return ms < 0 ? "overdue by " + span : span + " left";
  }
  function tick() {
    var elapsed = Date.now() - loaded;
    clocks.forEach(function (el) {
      var now = Date.parse(el.getAttribute("data-now")) + elapsed;
      var left = Date.parse(el.getAttribute("data-target")) - now;
      el.textContent = text(left);
      el.classList.toggle("overdue", left < 0);
    });
  }
  tick();
  setInterval(tick, 20000);
})();
