// /settings: the settings changed without a restart (admins), the Sinch connection test, users
// and everybody's keys (admins). Changes go through the JSON API (window.textcast.api adds the
// CSRF header). A generated password is put on the page once and never fetched again: the
// server keeps none. Your own keys: account.js.
"use strict";
(function () {
  var tc = window.textcast;

  function byId(id) { return document.getElementById(id); }

  function actionError(message) { tc.actionError(message); }

  // --- Settings changed without a restart (admins) -------------------------------------------
  // Each group's form sends only the fields changed since the page was drawn (a field's
  // defaultValue), so that a value from the environment stays the environment's.

  document.querySelectorAll("form[data-settings-group]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      tc.clearErrors(form);
      var saved = form.querySelector("[data-saved]");
      saved.textContent = "";
      var changes = {};
      var count = 0;
      form.querySelectorAll("input[name], textarea[name]").forEach(function (field) {
        if (field.value !== field.defaultValue) {
          changes[field.name] = field.value;
          count += 1;
        }
      });
      if (!count) {
        saved.textContent = "Nothing changed.";
        return;
      }
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      tc.api("PATCH", "/api/v1/settings", changes).then(function () {
        window.location.reload();
      }, function (error) {
        button.disabled = false;
        tc.showErrors(form, error);
      });
    });
  });

  // --- Test connection -----------------------------------------------------------------------

  function showCheck(out, result) {
    out.textContent = "";
    out.className = "check-result alert " + (result.ok ? "alert-ok" : "alert-error");
    out.setAttribute("data-problem", result.problem || "ok");
    var head = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = result.ok ? "Connection OK." : "Connection failed.";
    head.appendChild(strong);
    head.appendChild(document.createTextNode(" " + result.message));
    var details = [];
    if (result.problem) details.push("problem: " + result.problem);
    if (result.status) details.push("HTTP " + result.status);
    if (result.latency_ms !== null && result.latency_ms !== undefined) {
      details.push(result.latency_ms + " ms");
    }
    details.push(result.host);
    var meta = document.createElement("p");
    meta.className = "check-meta";
    meta.textContent = details.join(" · ");
    out.appendChild(head);
    out.appendChild(meta);
  }

  var check = byId("sinch-check");
  if (check) {
    check.addEventListener("click", function () {
      var out = byId("sinch-check-result");
      check.disabled = true;
      check.setAttribute("aria-busy", "true");
      out.className = "check-result alert";
      out.removeAttribute("data-problem");
      out.textContent = "Checking the connection…";
      tc.api("POST", "/api/v1/settings/sinch-check").then(function (result) {
        showCheck(out, result);
      }, function (error) {
        out.className = "check-result alert alert-error";
        out.setAttribute("data-problem", "check_failed");
        out.textContent = "The check could not run: " + error.message;
      }).then(function () {
        check.disabled = false;
        check.removeAttribute("aria-busy");
      });
    });
  }

  // --- Shown-once secrets --------------------------------------------------------------------

  function showOnce(boxId, secretId, secret) {
    byId(secretId).textContent = secret;
    var box = byId(boxId);
    box.hidden = false;
    box.focus();
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var node = byId(copy.getAttribute("data-copy"));
      var label = copy.getAttribute("data-label") || copy.textContent;
      copy.setAttribute("data-label", label);
      var done = function () { copy.textContent = "Copied"; };
      var manual = function () {
        selectText(node);
        copy.textContent = "Selected: press Ctrl+C";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(node.textContent).then(done, manual);
      } else {
        manual();
      }
      return;
    }
    if (event.target.closest("[data-reload]")) {
      document.querySelectorAll(".once .secret").forEach(function (n) { n.textContent = ""; });
      window.location.reload();
    }
  });

  // --- Users (admins) ------------------------------------------------------------------------

  var newUser = byId("new-user-form");
  if (newUser) {
    newUser.addEventListener("submit", function (event) {
      event.preventDefault();
      tc.clearErrors(newUser);
      var button = newUser.querySelector('button[type="submit"]');
      button.disabled = true;
      var body = { email: newUser.elements.email.value, role: newUser.elements.role.value };
      tc.api("POST", "/api/v1/users", body).then(function (user) {
        newUser.reset();
        newUser.hidden = true;
        byId("new-user-created-email").textContent = user.email;
        showOnce("new-user-created", "new-user-password", user.password);
      }, function (error) {
        tc.showErrors(newUser, error);
      }).then(function () { button.disabled = false; });
    });
  }

  document.querySelectorAll("form[data-user-role]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var path = "/api/v1/users/" + form.getAttribute("data-user-role");
      tc.api("PATCH", path, { role: form.elements.role.value }).then(function () {
        window.location.reload();
      }, function (error) {
        tc.showErrors(form, error);
      });
    });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-user-disabled]");
    if (!button) return;
    var question = button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
    button.disabled = true;
    var path = "/api/v1/users/" + button.getAttribute("data-user-id");
    var disabled = button.getAttribute("data-user-disabled") === "true";
    tc.api("PATCH", path, { disabled: disabled }).then(function () {
      window.location.reload();
    }, function (error) {
      button.disabled = false;
      actionError(error.message);
    });
  });
})();
