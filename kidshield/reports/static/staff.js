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
