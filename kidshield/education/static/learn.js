/* The lesson quiz: "Check my answers" marks each answered question right or wrong (its
   explanation shows only then), says the score, and saves it for this device's profile with
   the page's CSRF token. Served as a file so the server's Content-Security-Policy
   (script-src 'self') lets it run. Workshops need no script: CSS shows one step at a time. */
(function () {
  "use strict";
  var quiz = document.getElementById("quiz");
  if (!quiz) {
    return;
  }
  var result = document.getElementById("result");
  document.getElementById("check").addEventListener("click", function () {
    var sets = quiz.querySelectorAll("fieldset");
    var right = 0;
    sets.forEach(function (fs) {
      var picked = fs.querySelector("input:checked");
      fs.classList.remove("right", "wrong");
      if (!picked) {
        return;
      }
      var ok = picked.value === fs.dataset.answer;
      fs.classList.add(ok ? "right" : "wrong");
      if (ok) {
        right += 1;
      }
    });
    var text = right + " of " + sets.length + " right.";
    text += right === sets.length ? " Well done!" : " Look at the notes and try again.";
    result.textContent = text;
    fetch(quiz.dataset.progress, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": quiz.dataset.csrf},
      body: JSON.stringify({score: right, total: sets.length})
    }).catch(function () { /* offline: the score on the page is what matters */ });
  });
})();
