// Approvals page (UI.md): select weeks or single items, expand a week, count the selection.
// Plain JavaScript, no inline handlers (strict CSP); HTMX loads the items of a week.
(function () {
  "use strict";

  function form() { return document.querySelector("form[data-approvals]"); }

  function groupBox(key) {
    return document.querySelector('input[data-group-checkbox="' + key + '"]');
  }

  function itemsOf(key) {
    return document.querySelectorAll('input[data-item-of="' + key + '"]');
  }

  function updateCount() {
    var root = form();
    if (!root) return;
    var tokens = {};
    root.querySelectorAll('input[name="groups"]:checked, input[name="items"]:checked')
      .forEach(function (box) {
        box.value.split(/\s+/).forEach(function (token) { if (token) tokens[token] = true; });
      });
    var count = Object.keys(tokens).length;
    var label = root.querySelector("[data-selected-count]");
    if (label) label.textContent = count + (count === 1 ? " item selected" : " items selected");
  }

  function onGroupChange(box) {
    itemsOf(box.getAttribute("data-group-checkbox")).forEach(function (item) {
      item.checked = box.checked;
    });
  }

  // Unticking one item of a ticked week keeps the rest of the week selected, item by item.
  function onItemChange(item) {
    var key = item.getAttribute("data-item-of");
    var group = groupBox(key);
    if (!group) return;
    var items = Array.prototype.slice.call(itemsOf(key));
    var all = items.every(function (other) { return other.checked; });
    group.checked = all;
  }

  function onExpand(button) {
    var row = document.getElementById(button.getAttribute("aria-controls"));
    if (!row) return;
    var open = button.getAttribute("aria-expanded") !== "true";
    row.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.textContent = open ? "Hide items" : button.dataset.label;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = form();
    if (!root) return;
    root.addEventListener("change", function (event) {
      var target = event.target;
      if (target.hasAttribute("data-select-all")) {
        root.querySelectorAll('input[name="groups"], input[name="items"]').forEach(
          function (box) { box.checked = target.checked; });
      } else if (target.hasAttribute("data-group-checkbox")) {
        onGroupChange(target);
      } else if (target.hasAttribute("data-item-of")) {
        onItemChange(target);
      }
      updateCount();
    });
    root.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-expand]");
      if (button) onExpand(button);
    });
    // Items loaded after their week was ticked start ticked too.
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var cell = event.detail.target;
      var row = cell && cell.closest ? cell.closest("tr.approval-items") : null;
      if (!row) return;
      var key = row.id.replace(/^items-/, "");
      var group = groupBox(key);
      if (group && group.checked) onGroupChange(group);
      updateCount();
    });
    // A rejection needs a reason: say so beside the field before the round trip.
    root.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      var reason = root.querySelector("#approval-reason");
      if (submitter && submitter.value === "reject" && reason && !reason.value.trim()) {
        event.preventDefault();
        reason.setAttribute("aria-invalid", "true");
        var note = document.getElementById("reason-error");
        if (!note) {
          note = document.createElement("p");
          note.id = "reason-error";
          note.className = "field-error";
          note.setAttribute("role", "alert");
          reason.setAttribute("aria-describedby", "reason-error");
          reason.parentNode.appendChild(note);
        }
        note.textContent = "Give the reason for the rejection; the person sees it.";
        reason.focus();
      }
    });
    updateCount();
  });
})();
