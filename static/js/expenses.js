// The expense form: category-dependent fields, the exchange rate only for a foreign currency,
// live policy hints (limit, receipt threshold, mileage and per diem amounts) and the delete
// confirmation. No inline handlers: the pages send a strict Content-Security-Policy. The server
// re-checks everything; this only helps the person get it right the first time.
(function () {
  "use strict";

  function readPolicy() {
    var node = document.getElementById("expense-policy");
    if (!node) return null;
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  // Decimal-safe enough for a hint: work in integer hundredths / ten-thousandths.
  function toCents(text) {
    var value = parseFloat(String(text || "").replace(",", "."));
    return isNaN(value) ? null : Math.round(value * 100);
  }
  function formatCents(cents) {
    var sign = cents < 0 ? "-" : "";
    cents = Math.abs(cents);
    var whole = Math.floor(cents / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var part = (cents % 100).toString();
    return sign + whole + "." + (part.length < 2 ? "0" + part : part);
  }
  function multiplyCents(quantity, rate) {
    var q = parseFloat(String(quantity || "").replace(",", "."));
    var r = parseFloat(String(rate || ""));
    if (isNaN(q) || isNaN(r)) return null;
    return Math.round(q * r * 100);
  }

  function setup(form, data) {
    var field = function (name) { return form.querySelector("[name='" + name + "']"); };
    var category = field("category");
    var project = field("project");
    var currency = field("currency");
    var computed = document.getElementById("expense-computed");
    var warning = document.getElementById("policy-warning");
    var receiptHint = document.getElementById("receipt-hint");

    function projectInfo() {
      return (project && data.projects[project.value]) || null;
    }
    function policyFor(info, cat) {
      if (!info) return null;
      for (var i = 0; i < data.policies.length; i++) {
        var p = data.policies[i];
        if (p.entity === info.entity && p.category === cat) return p;
      }
      return null;
    }
    function show(group, visible) {
      form.querySelectorAll("[data-show='" + group + "']").forEach(function (el) {
        el.hidden = !visible;
      });
    }

    function update() {
      var cat = category ? category.value : "";
      var unit = data.unit_fields[cat];
      var info = projectInfo();
      show("amount", !unit);
      show("mileage", cat === "mileage");
      show("per_diem", cat === "per_diem");
      var foreign = !unit && info && currency && currency.value && currency.value !== info.currency;
      show("fx", !!foreign);

      var policy = policyFor(info, cat);
      var projectCents = null;
      computed.hidden = true;
      if (unit) {
        var quantity = field(unit) ? field(unit).value : "";
        if (policy && policy.unit_rate !== null) {
          projectCents = multiplyCents(quantity, policy.unit_rate);
          if (projectCents !== null) {
            computed.textContent = quantity + " × " + policy.unit_rate + " = " +
              formatCents(projectCents) + " " + info.currency;
            computed.hidden = false;
          }
        } else if (info) {
          computed.textContent = "No rate is set for this category; ask finance.";
          computed.hidden = false;
        }
      } else {
        var amount = toCents(field("amount") ? field("amount").value : "");
        if (amount !== null) {
          if (foreign) {
            var rate = field("exchange_rate") ? field("exchange_rate").value : "";
            projectCents = multiplyCents(amount / 100, rate);
            if (projectCents !== null) {
              computed.textContent = "≈ " + formatCents(projectCents) + " " + info.currency +
                " in the project currency";
              computed.hidden = false;
            }
          } else {
            projectCents = amount;
          }
        }
      }
      var over = policy && policy.limit !== null && projectCents !== null &&
        projectCents > toCents(policy.limit);
      if (warning) {
        var serverError = form.querySelector(".field-justification.has-error");
        warning.hidden = !(over || serverError);
        if (over) {
          warning.textContent = "This expense is above the policy limit of " + policy.limit +
            " " + info.currency + " for its category: explain why in the justification.";
        }
      }
      if (receiptHint) {
        var needs = policy && projectCents !== null && projectCents > toCents(policy.receipt_above);
        receiptHint.hidden = !needs;
        if (needs) {
          receiptHint.textContent = "A receipt is required above " + policy.receipt_above + " " +
            info.currency + "; you can save a draft without it, but not submit.";
        }
      }
    }

    form.addEventListener("input", update);
    form.addEventListener("change", function (event) {
      if (event.target === project && currency && projectInfo() && !field("amount").value) {
        currency.value = projectInfo().currency;
      }
      update();
    });
    update();
  }

  function setupConfirm() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var data = readPolicy();
    var form = document.getElementById("expense-form");
    if (form && data) setup(form, data);
    setupConfirm();
  });
})();
