// Billing pages (UI.md, Billing). Plain JavaScript, no inline handlers (strict CSP); HTMX does
// the partial updates: line edits, the run's progress polling.
(function () {
  "use strict";

  // A line edit the server refused comes back as the line with the error beside the field
  // (422/400/409): swap it in like a success, so the typed value stays for a retry.
  var SWAPPED_ERRORS = [400, 409, 422];
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("invoice-line") &&
        SWAPPED_ERRORS.indexOf(event.detail.xhr.status) >= 0) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Say what happened to a line edit, for screen readers, and keep focus near it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.classList || !target.classList.contains("invoice-line")) return;
    var line = document.getElementById(target.id) || target;
    var live = document.getElementById("billing-status");
    var error = line.querySelector(".field-error");
    if (live) live.textContent = error ? "Not saved: " + error.textContent : "Saved.";
    var focus = line.querySelector(".has-error input, .has-error select") ||
                line.querySelector("summary");
    if (focus) focus.focus();
  });

  // "Show ready work" submits the run form as a GET: leave the CSRF token out of the URL.
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (!submitter || !submitter.hasAttribute("data-drop-csrf")) return;
    var token = event.target.querySelector("input[name=csrfmiddlewaretoken]");
    if (token) {
      token.disabled = true;
      window.setTimeout(function () { token.disabled = false; }, 0);
    }
  });

  // One click per action: a second click while the page is posting does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("hx-post") || (form.method || "").toLowerCase() !== "post") return;
    if (form.dataset.submitted === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "1";
  });
  // Coming back to the page (browser history) makes its forms usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      delete form.dataset.submitted;
    });
  });
})();
