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
      // 204 (a DELETE) has no body, though FastAPI still labels it JSON.
      if (response.status === 204) return null;
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
    problems.forEach(function (problem, index) {
      var name = String(problem.field).split(/[.[]/)[0];
      var field = form.querySelector('[name="' + name + '"]');
      if (!field) return;
      field.setAttribute("aria-invalid", "true");
      var note = document.createElement("p");
      note.className = "field-error";
      note.id = "error-" + name + "-" + index;
      note.textContent = problem.field === name ? problem.message
        : problem.field + ": " + problem.message;
      var described = field.getAttribute("aria-describedby");
      field.setAttribute("aria-describedby", described ? described + " " + note.id : note.id);
      var after = field.nextElementSibling;
      while (after && after.classList.contains("field-error")) {
        field = after;
        after = after.nextElementSibling;
      }
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
    form.querySelectorAll("[aria-describedby]").forEach(function (node) {
      var kept = node.getAttribute("aria-describedby").split(" ").filter(function (id) {
        return id.indexOf("error-") !== 0;
      });
      if (kept.length) node.setAttribute("aria-describedby", kept.join(" "));
      else node.removeAttribute("aria-describedby");
    });
    var summary = form.querySelector("[data-errors]");
    if (summary) summary.hidden = true;
  }

  // Poll `load` every `ms` while the page is visible, until it returns false.
  function every(ms, load) {
    var timer = null;
    var busy = false;
    var stopped = false;
    function tick() {
      timer = null;
      if (stopped || busy) return;
      if (document.hidden) return; // resumed by visibilitychange
      busy = true;
      Promise.resolve(load()).then(function (goOn) {
        busy = false;
        if (goOn === false) stopped = true;
        else if (!stopped) timer = window.setTimeout(tick, ms);
      }, function () {
        busy = false;
        if (!stopped) timer = window.setTimeout(tick, ms * 2);
      });
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && !stopped && !busy && timer === null) tick();
    });
    tick();
    return function stop() { stopped = true; window.clearTimeout(timer); };
  }

  // Buttons with data-api-action="POST /api/v1/..." (and an optional JSON data-api-body) call
  // the API, then reload, or go to data-then ("{id}" becomes the answer's id).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-api-action]");
    if (!button) return;
    event.preventDefault();
    var question = button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
    var parts = button.getAttribute("data-api-action").split(" ");
    var body = button.hasAttribute("data-api-body")
      ? JSON.parse(button.getAttribute("data-api-body")) : undefined;
    button.disabled = true;
    api(parts[0], parts[1], body).then(function (result) {
      var next = button.getAttribute("data-then");
      if (next) window.location.assign(next.replace("{id}", result && result.id));
      else window.location.reload();
    }, function (error) {
      button.disabled = false;
      actionError(error.message, button);
    });
  });

  // A failed action's message, in the [data-action-error] of the section it came from (else
  // the page's first), focused so that it is read out; an alert when the page has none.
  function actionError(message, near) {
    var section = near && near.closest("section");
    var out = (section && section.querySelector("[data-action-error]")) ||
      document.querySelector("[data-action-error]");
    if (!out) { window.alert(message); return; }
    out.textContent = message;
    out.hidden = false;
    if (out.hasAttribute("tabindex")) out.focus();
  }

  // "1 recipient", "2 recipients", "1,200 replies" (given "reply", "replies"): as the
  // server's `plural` says it.
  function plural(count, singular, pluralForm) {
    var word = count === 1 ? singular : (pluralForm || singular + "s");
    return count.toLocaleString("en-US") + " " + word;
  }

  // The zone times show in: the user's choice (My account), else this browser's.
  function displayZone() {
    var meta = document.querySelector('meta[name="display-time-zone"]');
    var chosen = meta && meta.getAttribute("content");
    if (chosen) return chosen;
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    } catch (e) {
      return "UTC";
    }
  }

  // "2026-12-07 14:05 CET": one format for a moment everywhere, in `zone` (default: the
  // display zone), as the server's `wording.moment` writes it.
  function moment(date, zone, seconds) {
    var options = {
      timeZone: zone || displayZone(), hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
    };
    if (seconds) options.second = "2-digit";
    var parts = {};
    try {
      new Intl.DateTimeFormat("en-GB", options).formatToParts(date).forEach(function (part) {
        parts[part.type] = part.value;
      });
    } catch (e) {
      return moment(date, "UTC", seconds);
    }
    var name = parts.timeZoneName === "GMT" && options.timeZone === "UTC" ? "UTC" : parts.timeZoneName;
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" +
      parts.minute + (seconds ? ":" + parts.second : "") + " " + name;
  }

  // A <time> for `date` as the pages write it: in the display zone, UTC on hover.
  function timeNode(date, seconds) {
    var node = document.createElement("time");
    node.dateTime = date.toISOString();
    node.title = moment(date, "UTC", seconds);
    node.textContent = moment(date, null, seconds);
    return node;
  }

  // Times the server wrote in UTC (the user chose no zone): shown in this browser's zone.
  function localTimes(root) {
    (root || document).querySelectorAll("time[data-local-time]").forEach(function (node) {
      var date = new Date(node.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      var seconds = /:\d\d:\d\d /.test(node.textContent);
      node.title = moment(date, "UTC", seconds);
      node.textContent = moment(date, null, seconds);
      node.removeAttribute("data-local-time");
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { localTimes(); });
  } else {
    localTimes();
  }

  // The compact bar on a phone: the menu button folds the navigation and the account links away
  // (the style sheet hides them while `aria-expanded` is false, on narrow screens only).
  // Without this script the button stays hidden and the menu open.
  function compactMenu() {
    var button = document.getElementById("menu-button");
    var menu = document.getElementById("site-menu");
    if (!button || !menu) return;
    function setOpen(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    button.hidden = false;
    document.documentElement.classList.add("menu-folds");
    button.addEventListener("click", function () {
      setOpen(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        button.focus();
      }
    });
  }
  compactMenu();

  window.textcast = {
    api: api, showErrors: showErrors, clearErrors: clearErrors, every: every,
    plural: plural, moment: moment, timeNode: timeNode, localTimes: localTimes,
    displayZone: displayZone, actionError: actionError,
  };
})();
