// A campaign's page, live: poll GET /api/v1/campaigns/{id} for the status, and swap in
// /campaigns/{id}/live (every figure, chart and table, drawn by the server from one reading)
// when the figures move, so that the numbers on the page always agree with each other.
// When each control applies comes from the page's data-* attributes, so this file knows none
// of the rules.
"use strict";
(function () {
  var root = document.getElementById("campaign");
  if (!root || root.getAttribute("data-poll") !== "true") return;

  var POLL_MS = 2000;
  var SETTLING_POLL_MS = 10000; // settled, while Sinch's last delivery reports come in
  var FRAGMENT_MS = 3000; // the figures and charts are redrawn at most this often
  var id = root.getAttribute("data-campaign-id");
  var settled = words(root.getAttribute("data-settled"));
  var live = document.getElementById("campaign-live");
  // What the page was drawn from (status and counts, as `poll` writes them): a change
  // before the first poll is a change too.
  var lastSeen = root.getAttribute("data-seen");
  var fragmentAt = Date.now();
  var fragmentDue = false;
  var slowed = false;

  function words(text) {
    return (text || "").split(" ").filter(Boolean);
  }

  function setText(elementId, text) {
    var node = document.getElementById(elementId);
    if (node && node.textContent !== text) node.textContent = text;
  }

  function show(campaign) {
    var status = document.getElementById("campaign-status");
    if (status.textContent !== campaign.status) {
      status.textContent = campaign.status;
      status.className = "status status-" + campaign.status;
    }
    root.setAttribute("data-status", campaign.status);
    setText("status-reason", campaign.status_reason || "");

    var inFlight = campaign.figures ? campaign.figures.with_sinch : 0;
    document.querySelectorAll("[data-show-when]").forEach(function (button) {
      var when = words(button.getAttribute("data-show-when"));
      var whileWithSinch = words(button.getAttribute("data-show-while-with-sinch"));
      var wanted = when.indexOf(campaign.status) >= 0 ||
        (inFlight > 0 && whileWithSinch.indexOf(campaign.status) >= 0);
      // Never hide the button that has the focus: its click is on its way.
      if (button.hidden === wanted && document.activeElement !== button) button.hidden = !wanted;
    });
  }

  function loadFragment() {
    fragmentAt = Date.now();
    fragmentDue = false;
    // The same address as the page's: its message list keeps its filter and page.
    return fetch("/campaigns/" + id + "/live" + window.location.search, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    }).then(function (response) {
      // A redirect means the session ended: it would be the sign-in page.
      if (!response.ok || response.redirected) return;
      return response.text().then(function (html) {
        // The skip reasons a reader opened stay open, and the message filter stays as the
        // reader is leaving it (what they typed, where the focus is).
        var open = [];
        live.querySelectorAll("details[open]").forEach(function (d) { open.push(d.id); });
        var form = document.getElementById("message-filters");
        var active = form && form.contains(document.activeElement) ? document.activeElement : null;
        var caret = active && typeof active.selectionStart === "number"
          ? [active.selectionStart, active.selectionEnd] : null;
        var fresh = document.createElement("div");
        fresh.innerHTML = html;
        var stale = fresh.querySelector("#message-filters");
        if (form && stale) stale.replaceWith(form);
        live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes));
        open.forEach(function (detailsId) {
          var details = document.getElementById(detailsId);
          if (details) details.open = true;
        });
        if (active) {
          active.focus();
          if (caret) active.setSelectionRange(caret[0], caret[1]);
        }
      });
    }, function () { fragmentDue = true; });
  }

  function finished(campaign) {
    return settled.indexOf(campaign.status) >= 0 && campaign.final >= campaign.total;
  }

  function poll() {
    return window.textcast.api("GET", "/api/v1/campaigns/" + id).then(function (campaign) {
      show(campaign);
      var seen = campaign.status + " " + Object.keys(campaign.counts).sort().map(function (s) {
        return s + ":" + campaign.counts[s];
      }).join(" ");
      // An A/B test's figures move with clicks and replies too: its summary says so.
      if (campaign.test) seen += " " + campaign.test.state + " " + campaign.test.summary;
      if (seen !== lastSeen) fragmentDue = true;
      lastSeen = seen;
      var done = finished(campaign);
      if (fragmentDue && (done || Date.now() - fragmentAt >= FRAGMENT_MS)) loadFragment();
      if (done) {
        document.getElementById("live-note").hidden = true;
        return false;
      }
      if (!slowed && settled.indexOf(campaign.status) >= 0) {
        slowed = true;
        window.setTimeout(function () {
          window.textcast.every(SETTLING_POLL_MS, poll);
        }, SETTLING_POLL_MS);
        return false;
      }
      return true;
    }, function (error) {
      if (error.status === 401 || error.status === 403 || error.status === 404) {
        var note = document.getElementById("live-error");
        note.textContent = error.status === 401
          ? "Your session ended: sign in again to see live progress."
          : "Live progress stopped: " + error.message;
        note.hidden = false;
        document.getElementById("live-note").hidden = true;
        return false;
      }
      throw error; // textcast.every tries again a little later
    });
  }

  window.textcast.every(POLL_MS, poll);
})();
