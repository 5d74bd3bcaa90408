// The inbox (/inbox) and a conversation (/inbox/{id}): poll the page's own updates endpoint
// every few seconds for the unread badge, the tabs' counts, new texts and delivery statuses,
// and put the server's rendered rows in place; on a conversation, count the answer as the
// campaign editor does and insert quick replies.
"use strict";
(function () {
  var textcast = window.textcast;
  var POLL_MS = 3000;

  function setBadge(unread) {
    var badge = document.getElementById("nav-unread");
    if (!badge) return;
    badge.setAttribute("data-unread", String(unread));
    badge.querySelector("[data-unread-count]").textContent = String(unread);
    badge.hidden = unread === 0;
  }

  // Calls `update` with each answer of `url()`, one request at a time, every POLL_MS.
  function poll(url, update) {
    function tick() {
      textcast.api("GET", url()).then(function (answer) {
        // Signed out meanwhile: the answer is the sign-in page, not ours.
        if (answer && typeof answer === "object") update(answer);
      }).catch(function () { /* try again next time */ })
        .then(function () { window.setTimeout(tick, POLL_MS); });
    }
    window.setTimeout(tick, POLL_MS);
  }

  function withParams(base, params) {
    var query = Object.keys(params).map(function (key) {
      return encodeURIComponent(key) + "=" + encodeURIComponent(params[key]);
    }).join("&");
    return base + (base.indexOf("?") >= 0 ? "&" : "?") + query;
  }

  function setUpList(section) {
    poll(function () {
      return withParams(section.getAttribute("data-poll"), {
        version: section.getAttribute("data-version"),
      });
    }, function (answer) {
      setBadge(answer.unread);
      Object.keys(answer.counts).forEach(function (key) {
        var count = section.querySelector('[data-count="' + key + '"]');
        if (count) count.textContent = String(answer.counts[key]);
      });
      if (answer.html !== undefined) {
        document.getElementById("conversation-list").innerHTML = answer.html;
        section.setAttribute("data-version", answer.version);
      }
    });
  }

  function setUpThread(section) {
    var refusal = document.getElementById("reply-refusal");
    var form = document.getElementById("reply-form");
    poll(function () {
      return withParams(section.getAttribute("data-poll"), {
        version: section.getAttribute("data-version"),
        seen: document.visibilityState === "visible" ? "1" : "0",
      });
    }, function (answer) {
      setBadge(answer.unread);
      if (answer.html !== undefined) {
        document.getElementById("thread-list").innerHTML = answer.html;
        section.setAttribute("data-version", answer.version);
      }
      if (!refusal || !form) return;
      if (answer.refusal) {
        refusal.textContent = answer.refusal;
        refusal.setAttribute("data-source", "refusal");
        refusal.hidden = false;
      } else if (refusal.getAttribute("data-source") === "refusal") {
        refusal.hidden = true;  // they texted START: answers can go again
      }
      form.querySelectorAll("textarea, select, button").forEach(function (field) {
        field.disabled = Boolean(answer.refusal);
      });
    });
  }

  function setUpReply(form) {
    var box = document.getElementById("reply-body");
    var counter = document.getElementById("reply-counter");
    var help = document.getElementById("reply-encoding-help");
    var counting = JSON.parse(form.getAttribute("data-counting"));
    var asked = null;
    function show(count, source) { textcast.showCountIn(counter, count, source); }
    function explain(report) {
      var groups = textcast.editorText.groupOffenders(report.offenders || []);
      help.hidden = groups.length === 0;
      help.textContent = groups.length ? "UCS-2 (70 characters a part, not 160) because of " +
        groups.map(function (group) {
          return "“" + group.character + "” (" + group.name + ")" +
            (group.replacement === null ? "" : " → " + group.replacement);
        }).join(", ") + "." : "";
    }
    function ask() {
      var written = box.value;
      textcast.api("POST", "/api/v1/encoding", { text: written }).then(function (report) {
        if (box.value !== written) return;
        show(report, "api");
        explain(report);
      }, function () { /* the estimate stays */ });
    }
    function count() {
      show(textcast.editorText.estimate(box.value, counting), "estimate");
      window.clearTimeout(asked);
      asked = window.setTimeout(ask, 250);
    }
    box.addEventListener("input", count);
    count();
    var picker = document.getElementById("quick-reply");
    if (picker) {
      picker.addEventListener("change", function () {
        var chosen = picker.options[picker.selectedIndex];
        var body = chosen && chosen.getAttribute("data-body");
        if (!body) return;
        box.focus();
        box.setRangeText(body, box.selectionStart, box.selectionEnd, "end");
        box.dispatchEvent(new Event("input", { bubbles: true }));
        picker.selectedIndex = 0;
      });
    }
  }

  var list = document.getElementById("conversations");
  if (list && list.hasAttribute("data-poll")) setUpList(list);
  var thread = document.getElementById("thread");
  if (thread && thread.hasAttribute("data-poll")) setUpThread(thread);
  var form = document.getElementById("reply-form");
  if (form && textcast.editorText) setUpReply(form);
})();
