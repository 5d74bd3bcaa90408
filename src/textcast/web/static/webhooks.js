// The webhooks pages: the new webhook's form and the change form send their fields to
// /api/v1/webhooks as JSON; a new webhook's (or a rotated) signing secret is shown once, in
// place, and never fetched again. "All event types" and single types exclude each other.
// "Replay since" reads its moment in the browser's time zone and says what it queued.
"use strict";
(function () {
  var tc = window.textcast;

  function byId(id) { return document.getElementById(id); }

  function collect(form) {
    var types = [];
    form.querySelectorAll('input[name="event_types"]:checked').forEach(function (box) {
      types.push(box.value);
    });
    return {
      url: form.querySelector('[name="url"]').value.trim(),
      description: form.querySelector('[name="description"]').value.trim(),
      event_types: types.indexOf("*") >= 0 ? ["*"] : types,
    };
  }

  function showSecret(secret, subscriptionId) {
    byId("webhook-secret").textContent = secret;
    var link = byId("webhook-created-link");
    if (link) link.href = "/webhooks/" + subscriptionId;
    var copy = document.querySelector('[data-copy="webhook-secret"]');
    if (copy) copy.textContent = "Copy secret";
    var box = byId("webhook-created");
    box.hidden = false;
    box.focus();
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches('input[name="event_types"]') || !box.checked) return;
    var fieldset = box.closest("fieldset");
    if (box.hasAttribute("data-all-types")) {
      fieldset.querySelectorAll('input[name="event_types"]:not([data-all-types])')
        .forEach(function (other) { other.checked = false; });
    } else {
      var all = fieldset.querySelector("[data-all-types]");
      if (all) all.checked = false;
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-webhook-form]");
    if (form) {
      event.preventDefault();
      var action = form.getAttribute("data-webhook-form").split(" ");
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      tc.api(action[0], action[1], collect(form)).then(function (answer) {
        if (answer && answer.secret) {
          form.hidden = true;
          showSecret(answer.secret, answer.id);
        } else {
          window.location.reload();
        }
      }, function (error) {
        button.disabled = false;
        tc.showErrors(form, error);
      });
      return;
    }
    var replay = event.target.closest("form[data-replay]");
    if (!replay) return;
    event.preventDefault();
    var input = replay.querySelector('[name="since"]');
    var moment = new Date(input.value);
    var submit = replay.querySelector('button[type="submit"]');
    var result = byId("webhook-replay-result");
    result.hidden = true;
    if (isNaN(moment.getTime())) {
      tc.showErrors(replay, { message: "Choose a date and time.",
        body: { problems: [{ field: "since", message: "choose a date and time" }] } });
      return;
    }
    submit.disabled = true;
    tc.clearErrors(replay);
    tc.api("POST", replay.getAttribute("data-replay"), { since: moment.toISOString() })
      .then(function (answer) {
        submit.disabled = false;
        result.textContent = answer.message + " ";
        var link = document.createElement("a");
        link.href = window.location.pathname;
        link.textContent = "Show the log";
        result.appendChild(link);
        result.hidden = false;
      }, function (error) {
        submit.disabled = false;
        tc.showErrors(replay, error);
      });
  });

  document.addEventListener("click", function (event) {
    var rotate = event.target.closest("[data-rotate]");
    if (rotate) {
      if (!window.confirm(rotate.getAttribute("data-confirm"))) return;
      rotate.disabled = true;
      tc.api("POST", rotate.getAttribute("data-rotate")).then(function (answer) {
        rotate.disabled = false;
        showSecret(answer.secret, answer.id);
      }, function (error) {
        rotate.disabled = false;
        tc.actionError(error.message, rotate);
      });
      return;
    }
    var copy = event.target.closest('[data-copy="webhook-secret"]');
    if (!copy) return;
    var node = byId("webhook-secret");
    var manual = function () {
      var range = document.createRange();
      range.selectNodeContents(node);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      copy.textContent = "Selected: press Ctrl+C";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(node.textContent).then(function () {
        copy.textContent = "Copied";
      }, manual);
    } else {
      manual();
    }
  });
})();
