// textcast's dashboard: talk to the JSON API with the session's CSRF token, show its errors
// next to the fields they name. Loaded on every page; page scripts use `window.textcast`.
"use strict";
(function () {
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // fetch() against our API: JSON in and out; rejects with {status, body} on an error answer.
  function api(method, path, body, options) {
    var init = {
      method: method,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
    };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined && body !== null) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (options && options.signal) init.signal = options.signal;
    return fetch(path, init).then(function (response) {
      var type = response.headers.get("content-type") || "";
      var parsed = type.indexOf("application/json") === 0 ? response.json() : response.text();
      return parsed.then(function (data) {
        if (!response.ok) {
          var error = new Error((data && data.message) || response.statusText);
          error.status = response.status;
          error.body = data;
          throw error;
        }
        return data;
      });
    });
  }

  // Show an API error in a form: a summary, and each problem next to the field it names.
  function showErrors(form, error) {
    clearErrors(form);
    var summary = form.querySelector("[data-errors]");
    var problems = (error.body && error.body.problems) || [];
    problems.forEach(function (problem) {
      var name = String(problem.field).split(/[.[]/)[0];
      var field = form.querySelector('[name="' + name + '"]');
      if (!field) return;
      field.setAttribute("aria-invalid", "true");
      var note = document.createElement("p");
      note.className = "field-error";
      note.id = "error-" + name;
      note.textContent = problem.message;
      field.setAttribute("aria-describedby", note.id);
      field.insertAdjacentElement("afterend", note);
    });
    if (summary) {
      summary.textContent = error.message || "Something went wrong.";
      summary.hidden = false;
      summary.focus();
    }
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach(function (node) { node.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (node) {
      node.removeAttribute("aria-invalid");
    });
    var summary = form.querySelector("[data-errors]");
    if (summary) summary.hidden = true;
  }

  // Poll `load` every `ms` while the page is visible, until it returns false.
  function every(ms, load) {
    var timer = null;
    function tick() {
      Promise.resolve(load()).then(function (goOn) {
        if (goOn !== false) timer = window.setTimeout(tick, ms);
      }, function () { timer = window.setTimeout(tick, ms * 2); });
    }
    tick();
    return function stop() { window.clearTimeout(timer); };
  }

  // Buttons with data-api-action="POST /api/v1/..." call the API, then reload or go on.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-api-action]");
    if (!button) return;
    event.preventDefault();
    var question = button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
    var parts = button.getAttribute("data-api-action").split(" ");
    button.disabled = true;
    api(parts[0], parts[1]).then(function (result) {
      var next = button.getAttribute("data-then");
      if (next) window.location.assign(next.replace("{id}", result && result.id));
      else window.location.reload();
    }, function (error) {
      button.disabled = false;
      var out = document.querySelector("[data-action-error]");
      if (out) { out.textContent = error.message; out.hidden = false; }
      else window.alert(error.message);
    });
  });

  window.textcast = { api: api, showErrors: showErrors, clearErrors: clearErrors, every: every };
})();
