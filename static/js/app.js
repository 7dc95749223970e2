// PSA page behaviour: plain JavaScript, no framework (UI.md). HTMX does the partial updates.
(function () {
  "use strict";

  function setupNavToggle() {
    var button = document.querySelector(".nav-toggle");
    var nav = document.getElementById("sidenav");
    if (!button || !nav) return;
    button.addEventListener("click", function () {
      var open = nav.classList.toggle("is-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        var first = nav.querySelector("a");
        if (first) first.focus();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("is-open")) {
        nav.classList.remove("is-open");
        button.setAttribute("aria-expanded", "false");
        button.focus();
      }
    });
  }

  // A filter form submits itself when a select changes; the search box waits for a pause
  // (HTMX triggers do it when HTMX is loaded; this keeps plain forms working without it).
  function setupAutoSubmit() {
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      if (window.htmx) return;
      form.addEventListener("change", function (event) {
        if (event.target.tagName === "SELECT") form.requestSubmit();
      });
    });
  }

  // After HTMX swaps the results, tell screen readers how many rows are shown now.
  function setupAnnouncements() {
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var live = document.getElementById("list-status");
      var count = event.detail.target.querySelector("[data-count]");
      if (live && count) live.textContent = count.textContent;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupNavToggle();
    setupAutoSubmit();
    setupAnnouncements();
  });
})();
