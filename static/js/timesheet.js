// My week (/time/): keyboard navigation, autosave states, notes, day switcher and timer.
// Plain JavaScript under a strict CSP: no inline handlers, no eval. HTMX posts each cell and
// swaps the server's answer; this file only shows states and moves the focus.
(function () {
  "use strict";

  var CELL_ERROR_STATUSES = [400, 403, 404, 409, 412, 422];

  function byId(id) { return document.getElementById(id); }

  // Client-side parsing is for display only; the server parses what is saved.
  function parseHours(text) {
    var raw = (text || "").trim().toLowerCase().replace(",", ".").replace(/\s+/g, "");
    if (!raw) return 0;
    var clock = /^(\d{1,2})[:h](\d{1,2})?(m|min)?$/.exec(raw);
    if (clock) {
      var minutes = parseInt(clock[2] || "0", 10);
      if (minutes >= 60) return NaN;
      return parseInt(clock[1], 10) + minutes / 60;
    }
    if (/^\d{0,3}(\.\d+)?h?$/.test(raw) && raw.replace(/h$/, "") !== "" && raw !== ".") {
      return parseFloat(raw.replace(/h$/, ""));
    }
    return NaN;
  }

  function cellOf(input) { return input.closest("td.ts-cell"); }

  function rows(grid) { return Array.prototype.slice.call(grid.querySelectorAll("tr.ts-row")); }

  function inputAt(row, col) {
    return row ? row.querySelector("td.ts-cell.d" + col + " input.ts-hours") : null;
  }

  function announce(text) {
    var live = byId("ts-live");
    if (!live) return;
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 30);
  }

  function setState(td, state, text, isError) {
    td.setAttribute("data-state", state);
    td.classList.toggle("has-error", !!isError);
    var box = td.querySelector(".ts-state");
    if (!box) return;
    var kept = box.querySelectorAll(".visually-hidden, .ts-tag");
    box.textContent = "";
    if (text) {
      var span = document.createElement("span");
      span.className = isError ? "ts-error" : (state === "saving" ? "ts-saving" : "ts-saved");
      span.textContent = text;
      box.appendChild(span);
    }
    kept.forEach(function (node) { box.appendChild(node); });
    var input = td.querySelector("input.ts-hours");
    if (input) {
      if (isError) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  // --- The day switcher (phones show one day at a time) --------------------------------------
  function showDay(root, col) {
    root.setAttribute("data-day", String(col));
    root.querySelectorAll(".ts-daybtn").forEach(function (button) {
      button.setAttribute("aria-pressed", button.getAttribute("data-col") === String(col)
        ? "true" : "false");
    });
  }

  function isHidden(element) { return !element || element.offsetParent === null; }

  // --- The selected cell's details: note, status, rejection reason ---------------------------
  var current = null;

  function showDetails(input) {
    var td = cellOf(input);
    if (!td) return;
    current = input;
    var title = byId("ts-detail-title");
    var status = byId("ts-detail-status");
    var reason = byId("ts-detail-reason");
    var note = byId("ts-note");
    var hint = byId("ts-note-hint");
    title.textContent = td.getAttribute("data-label");
    var lock = td.getAttribute("data-lock");
    var statusLabel = td.getAttribute("data-status");
    status.hidden = !(lock || statusLabel);
    status.textContent = lock || (statusLabel ? "Status: " + statusLabel : "");
    var why = td.getAttribute("data-reason");
    reason.hidden = !why;
    reason.textContent = why ? "Rejected: " + why : "";
    var hidden = td.querySelector("input[name=notes]");
    note.value = hidden ? hidden.value : "";
    note.disabled = input.readOnly;
    hint.textContent = input.readOnly ? "" :
      "Saved with the cell's hours; Enter or leaving the field saves it.";
  }

  function saveNote(note) {
    if (!current || current.readOnly) return;
    var td = cellOf(current);
    var hidden = td && td.querySelector("input[name=notes]");
    if (!hidden || hidden.value === note.value) return;
    hidden.value = note.value;
    if (!current.value.trim()) {
      byId("ts-note-hint").textContent = "Add hours to this cell to save the note with them.";
      return;
    }
    window.htmx.trigger(current, "change");
  }

  // --- Totals against capacity ---------------------------------------------------------------
  function markTotals(root) {
    var context = byId("ts-context-total");
    var week = byId("week-total");
    if (context && week) context.textContent = week.textContent;
    root.querySelectorAll("tfoot td[data-capacity]").forEach(function (td) {
      var total = parseFloat((td.querySelector("span[id]") || {}).textContent || "0");
      var capacity = parseFloat(td.getAttribute("data-capacity"));
      td.classList.toggle("is-over", total > capacity);
      td.classList.toggle("is-full", total > 0 && total === capacity);
    });
  }

  // --- Timer -----------------------------------------------------------------------------------
  function tickTimers() {
    document.querySelectorAll(".ts-timer[data-started]").forEach(function (timer) {
      var started = Date.parse(timer.getAttribute("data-started"));
      var seconds = Math.max(0, Math.floor((Date.now() - started) / 1000));
      var h = Math.floor(seconds / 3600);
      var m = Math.floor((seconds % 3600) / 60);
      var s = seconds % 60;
      var out = timer.querySelector(".ts-elapsed");
      if (out) {
        out.textContent = h + ":" + (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
      }
    });
  }

  function setup() {
    var root = byId("timesheet");
    if (!root) return;
    var grid = byId("ts-grid");
    var note = byId("ts-note");
    var dialog = byId("ts-shortcuts");

    showDay(root, parseInt(root.getAttribute("data-day") || "0", 10));
    markTotals(root);
    tickTimers();
    window.setInterval(tickTimers, 1000);

    root.querySelectorAll(".ts-daybtn").forEach(function (button) {
      button.addEventListener("click", function () {
        showDay(root, parseInt(button.getAttribute("data-col"), 10));
      });
    });

    grid.addEventListener("focusin", function (event) {
      var input = event.target;
      if (!input.classList || !input.classList.contains("ts-hours")) return;
      showDetails(input);
      // Select the value so typing replaces it; a click's mouseup would undo a select() now,
      // so it is repeated after it, unless the person has already started typing.
      var atFocus = input.value;
      input.select();
      window.setTimeout(function () {
        if (document.activeElement === input && input.value === atFocus) input.select();
      }, 0);
    });

    grid.addEventListener("input", function (event) {
      var input = event.target;
      if (!input.classList.contains("ts-hours")) return;
      var td = cellOf(input);
      var value = parseHours(input.value);
      if (isNaN(value)) setState(td, "typing", "Type 7.5, 7:30 or 7h30", true);
      else if (input.value.trim() && /[:h,]/i.test(input.value)) {
        setState(td, "typing", "= " + value.toFixed(2) + " h", false);
      } else setState(td, "typing", "", false);
    });

    grid.addEventListener("keydown", function (event) {
      var input = event.target;
      if (!input.classList || !input.classList.contains("ts-hours")) return;
      var row = input.closest("tr.ts-row");
      var col = parseInt(cellOf(input).getAttribute("data-col"), 10);
      var all = rows(grid);
      var index = all.indexOf(row);
      var target = null;
      if (event.key === "ArrowDown") target = inputAt(all[index + 1], col);
      else if (event.key === "ArrowUp") target = inputAt(all[index - 1], col);
      else if (event.key === "ArrowRight" && col < 6) target = inputAt(row, col + 1);
      else if (event.key === "ArrowLeft" && col > 0) target = inputAt(row, col - 1);
      else if (event.key === "Enter" && event.shiftKey) {
        event.preventDefault();
        if (!input.readOnly) note.focus();
        return;
      } else if (event.key === "Enter") {
        event.preventDefault();
        target = inputAt(all[index + 1], col);
        if (!target) {  // the last row: leaving the field is what saves it (change event)
          input.blur();
          input.focus();
          return;
        }
      } else if (event.key === "Escape") {
        event.preventDefault();
        input.value = input.getAttribute("data-saved") || "";
        setState(cellOf(input), "idle", "", false);
        announce("Restored " + (input.value || "empty") + " in " + cellOf(input)
          .getAttribute("data-label"));
        return;
      } else if (event.key === "?") {
        event.preventDefault();
        dialog.showModal();
        return;
      } else {
        return;
      }
      event.preventDefault();
      if (!target) return;
      var targetCol = parseInt(cellOf(target).getAttribute("data-col"), 10);
      if (isHidden(target)) showDay(root, targetCol);
      target.focus();
    });

    // After a network error the value did not change, so no change event would retry it.
    grid.addEventListener("focusout", function (event) {
      var input = event.target;
      if (!input.classList || !input.classList.contains("ts-hours")) return;
      var td = cellOf(input);
      if (td.getAttribute("data-state") === "neterror" &&
          input.value !== input.getAttribute("data-saved")) {
        window.htmx.trigger(input, "change");
      }
    });

    note.addEventListener("change", function () { saveNote(note); });
    note.addEventListener("keydown", function (event) {
      if (!current) return;
      if (event.key === "Escape") {
        event.preventDefault();
        var hidden = cellOf(current).querySelector("input[name=notes]");
        note.value = hidden ? hidden.value : "";
        current.focus();
      } else if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        saveNote(note);
        current.focus();
      }
    });

    document.addEventListener("keydown", function (event) {
      if (event.key !== "?" || dialog.open) return;
      var tag = (event.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select") return;
      event.preventDefault();
      dialog.showModal();
    });
    root.querySelectorAll("[data-shortcuts]").forEach(function (button) {
      button.addEventListener("click", function () { dialog.showModal(); });
    });

    // + Add row: the picker, and focusing a row that is already there instead of a duplicate.
    var toggle = root.querySelector(".ts-add-toggle");
    var picker = byId("ts-picker");
    toggle.addEventListener("click", function () {
      var open = picker.hidden;
      picker.hidden = !open;
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) byId("ts-picker-q").focus();
    });
    document.addEventListener("click", function (event) {
      var pick = event.target.closest && event.target.closest(".ts-pick");
      if (!pick) return;
      var existing = byId("row-" + pick.getAttribute("data-task"));
      if (existing) {
        event.stopPropagation();
        event.preventDefault();
        var first = existing.querySelector("input.ts-hours:not([readonly])");
        if (first) first.focus();
        announce("That row is already in the grid.");
      }
    }, true);

    // --- HTMX: per-cell saving state, errors beside the cell, live announcements --------------
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      var elt = event.detail.elt;
      if (elt.classList && elt.classList.contains("ts-hours")) {
        setState(cellOf(elt), "saving", "saving…", false);
      }
    });
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var target = event.detail.target;
      var status = event.detail.xhr.status;
      if (target && target.classList && target.classList.contains("ts-cell") &&
          CELL_ERROR_STATUSES.indexOf(status) >= 0) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
    // A new row is usable once HTMX has processed it, which it does while settling.
    document.body.addEventListener("htmx:afterSettle", function (event) {
      var target = event.detail.target;
      if (target && target.classList && target.classList.contains("ts-group")) {
        var added = target.querySelector("tr.ts-row:last-child input.ts-hours:not([readonly])");
        picker.hidden = true;
        toggle.setAttribute("aria-expanded", "false");
        if (added) added.focus();
        announce("Row added: " + (added ? cellOf(added).getAttribute("data-label") : ""));
      }
    });
    document.body.addEventListener("htmx:afterSettle", function (event) {
      var td = event.detail.target;
      if (!td || !td.id || td.id.indexOf("cell-") !== 0) return;
      td = byId(td.id);  // the swapped-in cell
      if (!td) return;
      markTotals(root);
      var head = grid.querySelector("thead .d" + td.getAttribute("data-col"));
      td.classList.toggle("is-off", !!head && head.classList.contains("is-off"));
      var label = td.getAttribute("data-label");
      var input = td.querySelector("input.ts-hours");
      if (td.classList.contains("has-error")) {
        var message = td.querySelector(".ts-error");
        announce("Not saved, " + label + ": " + (message ? message.textContent : ""));
      } else {
        announce("Saved " + label + ": " + (input.value ? input.value + " h" : "cleared"));
      }
      if (current && current.id === input.id) {
        current = input;
        if (document.activeElement !== note) showDetails(input);
      }
    });
    function networkError(event) {
      var elt = event.detail.elt;
      if (!elt.classList || !elt.classList.contains("ts-hours")) return;
      var td = cellOf(elt);
      setState(td, "neterror", "Not saved: the server did not answer. Your value is kept; " +
        "leave the cell again to retry.", true);
      announce("Not saved, " + td.getAttribute("data-label") + ": the server did not answer.");
    }
    document.body.addEventListener("htmx:responseError", networkError);
    document.body.addEventListener("htmx:sendError", networkError);
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
