// Contacts pages: forms with data-api-form="POST /api/v1/..." send their fields to the API as
// JSON (opt-out, opt-in, a new list, a new segment), then reload or go to data-then.
// A field with data-json is parsed as JSON; empty fields are left out. A contact's page also
// follows the contact's consent while it is open.
"use strict";
(function () {
  function collect(form) {
    var body = {};
    var problems = [];
    form.querySelectorAll("input[name], textarea[name], select[name]").forEach(function (field) {
      if (field.disabled) return;
      var value = field.value.trim();
      if (value === "") return;
      if (!field.hasAttribute("data-json")) {
        body[field.name] = value;
        return;
      }
      try {
        body[field.name] = JSON.parse(value);
      } catch (error) {
        problems.push({ field: field.name, message: "not valid JSON: " + error.message });
      }
    });
    return { body: body, problems: problems };
  }

  // Every problem with its full path (rules.conditions[1].op), for forms with nested fields.
  function listProblems(form, error) {
    var list = form.querySelector("[data-problem-list]");
    if (!list) return;
    list.textContent = "";
    ((error.body && error.body.problems) || []).forEach(function (problem) {
      var item = document.createElement("li");
      item.textContent = problem.field + ": " + problem.message;
      list.appendChild(item);
    });
    list.hidden = !list.firstChild;
  }

  function fail(form, error) {
    window.textcast.showErrors(form, error);
    listProblems(form, error);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-api-form]");
    if (!form) return;
    event.preventDefault();
    var action = form.getAttribute("data-api-form").split(" ");
    var built = collect(form);
    if (built.problems.length) {
      fail(form, { message: "Please correct the form.", body: { problems: built.problems } });
      return;
    }
    var button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    window.textcast.api(action[0], action[1], built.body).then(function (result) {
      var next = form.getAttribute("data-then");
      if (next) window.location.assign(next.replace("{id}", result && result.id));
      else window.location.reload();
    }, function (error) {
      if (button) button.disabled = false;
      fail(form, error);
    });
  });

  // A contact's page follows its consent ledger, so a STOP texted in while it is open shows:
  // the page reloads, unless somebody is typing in it (then it says so).
  function typing() {
    var active = document.activeElement;
    if (active && active.form) return true;
    return Array.prototype.some.call(document.querySelectorAll("form input, form textarea"),
      function (field) { return field.type !== "hidden" && field.value.trim() !== ""; });
  }

  var status = document.getElementById("contact-status");
  if (status && status.hasAttribute("data-contact-id")) {
    var path = "/api/v1/contacts/" + status.getAttribute("data-contact-id") + "/consent";
    var known = Number(status.getAttribute("data-consent-events"));
    window.textcast.every(3000, function () {
      return window.textcast.api("GET", path).then(function (events) {
        if (events.length === known) return true;
        if (typing()) document.getElementById("contact-changed").hidden = false;
        else window.location.reload();
        return false;
      }, function (error) {
        if (error.status === 404) return false;  // erased meanwhile
        throw error;
      });
    });
  }
})();
