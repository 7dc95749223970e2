// Staffing board (UI.md "Staffing"): marks the chosen request and the chosen cell, and keeps the
// chosen request in the URL. Plain JavaScript, no inline handlers (strict CSP); HTMX does the
// loading (cell assignments, ranked candidates, bookings).
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-request-link]");
    if (link) {
      document.querySelectorAll(".request-list li.selected").forEach(function (li) {
        li.classList.remove("selected");
      });
      link.closest("li").classList.add("selected");
      if (window.history && window.history.replaceState) {
        var url = new URL(link.href, window.location.href);
        var here = new URL(window.location.href);
        here.searchParams.set("request", url.searchParams.get("request"));
        window.history.replaceState(null, "", here.toString());
      }
      return;
    }
    var cell = event.target.closest("a.cell-link");
    if (cell) {
      document.querySelectorAll("td.cell.chosen").forEach(function (td) {
        td.classList.remove("chosen");
      });
      cell.closest("td").classList.add("chosen");
    }
  });

  // After a cell's assignments load, move focus to them for keyboard and screen-reader users.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "cell-detail") {
      var heading = event.detail.target.querySelector("h2");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    }
  });
})();
