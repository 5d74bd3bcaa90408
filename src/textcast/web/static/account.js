// /account: your password, your sessions and your API keys, through the JSON API
// (window.textcast.api adds the CSRF header). The tables change in place: a new key appears
// at once, its secret shown once and never fetched again (the server keeps only a digest).
"use strict";
(function () {
  var tc = window.textcast;

  function byId(id) { return document.getElementById(id); }

  function actionError(message) { tc.actionError(message); }

  function done(id, message) {
    var out = byId(id);
    out.textContent = message;
    out.hidden = false;
    out.focus();
  }

  var plural = tc.plural;

  // "2026-11-27T09:00:00Z" as the server writes it, as every page shows a moment.
  function when(iso) {
    if (!iso) return document.createTextNode("never");
    return tc.timeNode(new Date(/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : iso + "Z"));
  }

  function cell(row, content) {
    var td = document.createElement("td");
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = content;
    row.appendChild(td);
    return td;
  }

  function status(kind, text) {
    var span = document.createElement("span");
    span.className = "status " + kind;
    span.textContent = text;
    return span;
  }

  function button(label, hidden, className) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = className;
    b.textContent = label;
    var more = document.createElement("span");
    more.className = "visually-hidden";
    more.textContent = " " + hidden;
    b.appendChild(more);
    return b;
  }

  function actions(node) {
    var div = document.createElement("div");
    div.className = "actions";
    div.appendChild(node);
    return div;
  }

  // --- Password ------------------------------------------------------------------------------

  var passwordForm = byId("password-form");
  passwordForm.addEventListener("submit", function (event) {
    event.preventDefault();
    tc.clearErrors(passwordForm);
    byId("password-done").hidden = true;
    var fields = passwordForm.elements;
    if (fields.new_password.value !== fields.repeat_password.value) {
      tc.showErrors(passwordForm, {
        message: "The two new passwords differ.",
        body: { problems: [{ field: "repeat_password", message: "differs from the new password" }] },
      });
      return;
    }
    var submit = passwordForm.querySelector('button[type="submit"]');
    submit.disabled = true;
    var body = {
      current_password: fields.current_password.value,
      new_password: fields.new_password.value,
    };
    tc.api("POST", "/api/v1/me/password", body).then(function (result) {
      passwordForm.reset();
      var ended = result.sessions_ended;
      done("password-done", "Your password is changed." + (ended
        ? " " + plural(ended, "other session was", "other sessions were") + " signed out."
        : ""));
      return refreshSessions();
    }, function (error) {
      tc.showErrors(passwordForm, error);
    }).then(function () { submit.disabled = false; });
  });

  // --- Time zone -----------------------------------------------------------------------------

  var zoneForm = byId("time-zone-form");
  try {
    byId("browser-zone").textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) { /* an old browser: the hint keeps "unknown" */ }
  zoneForm.addEventListener("submit", function (event) {
    event.preventDefault();
    tc.clearErrors(zoneForm);
    var submit = zoneForm.querySelector('button[type="submit"]');
    submit.disabled = true;
    var zone = zoneForm.elements.display_time_zone.value || null;
    tc.api("PATCH", "/api/v1/me", { display_time_zone: zone }).then(function () {
      // Every time on the page is rendered in the new zone.
      window.location.reload();
    }, function (error) {
      tc.showErrors(zoneForm, error);
      submit.disabled = false;
    });
  });

  // --- Sessions ------------------------------------------------------------------------------

  function sessionRow(session) {
    var row = document.createElement("tr");
    row.setAttribute("data-session-id", session.id);
    cell(row, when(session.created_at));
    cell(row, when(session.expires_at));
    cell(row, session.current ? status("status-completed", "this session")
      : "another browser or device");
    var end = button("Sign out", session.current ? "this session"
      : "the session of " + when(session.created_at).textContent, "secondary");
    end.setAttribute("data-session-end", session.id);
    if (session.current) end.setAttribute("data-current", "");
    cell(row, actions(end));
    return row;
  }

  function refreshSessions() {
    return tc.api("GET", "/api/v1/me/sessions").then(function (list) {
      var body = byId("sessions-table").tBodies[0];
      body.textContent = "";
      list.forEach(function (session) { body.appendChild(sessionRow(session)); });
    });
  }

  document.addEventListener("click", function (event) {
    var end = event.target.closest("[data-session-end]");
    if (!end) return;
    var current = end.hasAttribute("data-current");
    if (current && !window.confirm("Sign out of this session? You will need to sign in again.")) {
      return;
    }
    end.disabled = true;
    var path = "/api/v1/me/sessions/" + encodeURIComponent(end.getAttribute("data-session-end"));
    tc.api("DELETE", path).then(function () {
      if (current) {
        window.location.assign("/login");
        return;
      }
      done("sessions-done", "That session is signed out.");
      return refreshSessions();
    }, function (error) {
      end.disabled = false;
      actionError(error.message);
    });
  });

  var others = byId("end-other-sessions");
  others.addEventListener("click", function () {
    if (!window.confirm(others.getAttribute("data-confirm"))) return;
    others.disabled = true;
    tc.api("POST", "/api/v1/me/sessions/end-others").then(function (result) {
      done("sessions-done", result.sessions_ended
        ? plural(result.sessions_ended, "other session was", "other sessions were") + " signed out."
        : "You were signed in nowhere else.");
      return refreshSessions();
    }, function (error) {
      actionError(error.message);
    }).then(function () { others.disabled = false; });
  });

  // --- API keys ------------------------------------------------------------------------------

  function keyRow(key) {
    var row = document.createElement("tr");
    row.setAttribute("data-key-id", key.id);
    cell(row, key.name);
    var prefix = document.createElement("code");
    prefix.textContent = key.prefix;
    cell(row, prefix);
    cell(row, key.scopes.join(", "));
    cell(row, when(key.created_at));
    cell(row, when(key.last_used_at));
    cell(row, status("status-completed", "active")).setAttribute("data-key-state", "");
    var revoke = button("Revoke", key.name, "danger");
    revoke.setAttribute("data-key-revoke", key.id);
    revoke.setAttribute("data-confirm", "Revoke the key " + key.name + " (" + key.prefix
      + ")? Programs using it stop working at once.");
    cell(row, actions(revoke)).setAttribute("data-key-actions", "");
    return row;
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  var newKey = byId("new-key-form");
  newKey.addEventListener("submit", function (event) {
    event.preventDefault();
    tc.clearErrors(newKey);
    var scopes = [];
    newKey.querySelectorAll('input[name="scopes"]:checked').forEach(function (box) {
      scopes.push(box.value);
    });
    if (!scopes.length) {
      tc.showErrors(newKey, { message: "Choose at least one scope.", body: null });
      return;
    }
    var submit = newKey.querySelector('button[type="submit"]');
    submit.disabled = true;
    var body = { name: newKey.elements.name.value, scopes: scopes };
    tc.api("POST", "/api/v1/apikeys", body).then(function (created) {
      newKey.reset();
      newKey.hidden = true;
      byId("keys-table").tBodies[0].appendChild(keyRow(created));
      byId("keys-list").hidden = false;
      byId("no-keys").hidden = true;
      byId("new-key-secret").textContent = created.key;
      document.querySelector('[data-copy="new-key-secret"]').textContent = "Copy key";
      var box = byId("new-key-created");
      box.hidden = false;
      box.focus();
    }, function (error) {
      tc.showErrors(newKey, error);
    }).then(function () { submit.disabled = false; });
  });

  byId("new-key-stored").addEventListener("click", function () {
    byId("new-key-secret").textContent = "";
    byId("new-key-created").hidden = true;
    newKey.hidden = false;
  });

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var node = byId(copy.getAttribute("data-copy"));
      var copied = function () { copy.textContent = "Copied"; };
      var manual = function () {
        selectText(node);
        copy.textContent = "Selected: press Ctrl+C";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(node.textContent).then(copied, manual);
      } else {
        manual();
      }
      return;
    }
    var revoke = event.target.closest("[data-key-revoke]");
    if (!revoke) return;
    if (!window.confirm(revoke.getAttribute("data-confirm"))) return;
    revoke.disabled = true;
    tc.api("DELETE", "/api/v1/apikeys/" + revoke.getAttribute("data-key-revoke")).then(function () {
      var row = revoke.closest("tr");
      row.classList.add("revoked");
      var state = row.querySelector("[data-key-state]");
      state.textContent = "";
      state.appendChild(status("status-cancelled", "revoked"));
      row.querySelector("[data-key-actions]").textContent = "";
    }, function (error) {
      revoke.disabled = false;
      actionError(error.message);
    });
  });
})();
