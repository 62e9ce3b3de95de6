// kidshield report form: autosave the draft in this browser (localStorage) and on the server
// (by a random draft token kept in the page address), so a reload or a crash loses nothing.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) { return; }
  var KEY = "kidshield-report-draft";
  var tokenField = document.getElementById("draft_token");
  var note = document.getElementById("saved-note");
  var fields = ["url", "imminent_danger", "case_type", "account", "description", "reporter_role", "contact"];

  function newToken() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function read() {
    var data = {};
    fields.forEach(function (name) {
      var el = form.elements[name];
      if (!el) { return; }
      data[name] = el.value || "";  // RadioNodeList.value is the checked one
    });
    return data;
  }
  function write(data) {
    fields.forEach(function (name) {
      var el = form.elements[name];
      if (!el || data[name] === undefined || data[name] === "") { return; }
      if (el instanceof RadioNodeList) {
        Array.prototype.forEach.call(el, function (r) { r.checked = (r.value === data[name]); });
      } else if (el.tagName === "SELECT" || !el.value) {
        el.value = data[name];
      }
    });
  }
  function local() {
    try { return JSON.parse(window.localStorage.getItem(KEY) || "null"); } catch (e) { return null; }
  }

  var params = new URLSearchParams(window.location.search);
  var saved = local();
  var known = tokenField.value || params.get("draft") || (saved && saved.token);
  var token = known || newToken();
  tokenField.value = token;
  if (params.get("draft") !== token) {
    params.set("draft", token);
    window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
  }
  if (saved && saved.token === token && saved.data) {
    write(saved.data);
  } else if (known) {
    // a token made just now has no draft on the server: asking would be a 404 on every new form
    fetch("/api/v1/reports/drafts/" + token, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { write(data); } })
      .catch(function () {});
  }

  var timer = null;
  function save() {
    timer = null;
    var data = read();
    try { window.localStorage.setItem(KEY, JSON.stringify({ token: token, data: data })); } catch (e) { /* private mode */ }
    fetch("/api/v1/reports/drafts/" + token, {
      method: "PUT", credentials: "omit", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(data)
    }).then(function (r) {
      // the page gives the words in its language (data-saved, data-local)
      if (note) { note.textContent = r.ok ? (note.dataset.saved || "Draft saved")
                                            : (note.dataset.local || "Saved in this browser"); }
    }).catch(function () {
      if (note) { note.textContent = note.dataset.local || "Saved in this browser"; }
    });
  }
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 400);
  });
  form.addEventListener("change", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 100);
  });
  // leaving or reloading the page: write what is pending now (localStorage is synchronous)
  window.addEventListener("pagehide", function () {
    if (timer !== null && !submitting) {
      window.clearTimeout(timer);
      try { window.localStorage.setItem(KEY, JSON.stringify({ token: token, data: read() })); } catch (e) { /* ignore */ }
    }
  });
  var submitting = false;
  form.addEventListener("submit", function () {
    submitting = true;
    try { window.localStorage.removeItem(KEY); } catch (e) { /* ignore */ }
  });
})();
