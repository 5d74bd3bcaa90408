// The simulator page (/simulator): text textcast as a phone through /api/v1/simulator/texts,
// then follow the text into textcast's inbox and say what became of it (STOP, HELP, a reply),
// with links to the inbox and the contact. The lists below the form are refreshed from the page.
"use strict";
(function () {
  var form = document.getElementById("simulator-form");
  if (!form) return;
  var sender = document.getElementById("simulator-sender");
  var body = document.getElementById("simulator-body");
  var recent = document.getElementById("simulator-recent");
  var result = document.getElementById("simulator-result");
  var api = window.textcast.api;

  if (recent) {
    recent.addEventListener("change", function () {
      if (recent.value) sender.value = recent.value;
      else { sender.value = ""; sender.focus(); }
    });
  }
  form.querySelectorAll("[data-quick-text]").forEach(function (button) {
    button.addEventListener("click", function () {
      body.value = button.getAttribute("data-quick-text");
      body.focus();
    });
  });

  var KINDS = {
    opt_out: "an opt-out (STOP): the number gets no more marketing texts, and the confirmation goes out.",
    opt_in: "an opt-in (START): the number can be texted again.",
    help: "a HELP request: the help text goes out.",
  };

  function line(text, href) {
    var p = document.createElement("p");
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      p.appendChild(a);
    } else {
      p.textContent = text;
    }
    return p;
  }

  function show(nodes) {
    result.textContent = "";
    nodes.forEach(function (node) { result.appendChild(node); });
    result.hidden = false;
  }

  // Swap the ledger and lists for the page's current ones.
  function refreshTraffic() {
    return fetch("/simulator", { credentials: "same-origin" }).then(function (response) {
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("simulator-traffic");
      var old = document.getElementById("simulator-traffic");
      if (fresh && old) old.replaceWith(document.adoptNode(fresh));
    });
  }

  function latestInboxId() {
    return api("GET", "/api/v1/inbox?limit=1").then(function (page) {
      return page.items.length ? page.items[0].id : 0;
    });
  }

  // Wait for textcast's webhook to store the text: it is posted a moment after the simulator
  // takes it.
  function follow(sent, after) {
    var tries = 0;
    return new Promise(function (resolve) {
      window.textcast.every(700, function () {
        tries += 1;
        return api("GET", "/api/v1/inbox?limit=20").then(function (page) {
          var found = page.items.filter(function (item) {
            return item.id > after && item.from_phone === sent.sender && item.body === sent.body;
          })[0];
          if (found || tries >= 30) { resolve(found || null); return false; }
          return true;
        });
      });
    });
  }

  function received(sent, inbound) {
    var nodes = [];
    var contactId = inbound ? inbound.contact_id : sent.contact_id;
    if (!inbound) {
      nodes.push(line("The simulator sent it, but textcast has not stored it yet: the webhook may have refused it. The ledger below counts the callbacks."));
    } else {
      nodes.push(line("textcast received “" + sent.body + "” from " + sent.sender + ": " +
        (KINDS[inbound.keyword] || "a reply, now in the inbox.")));
    }
    var links = document.createElement("p");
    links.className = "actions";
    var inbox = document.createElement("a");
    inbox.className = "button secondary";
    inbox.href = contactId ? "/inbox?contact_id=" + contactId : "/inbox";
    inbox.textContent = "See it in the inbox";
    links.appendChild(inbox);
    if (contactId) {
      var contact = document.createElement("a");
      contact.className = "button secondary";
      contact.href = "/contacts/" + contactId;
      contact.textContent = "Open the contact";
      links.appendChild(contact);
    }
    nodes.push(links);
    if (!contactId) nodes.push(line("This number is not a contact: save it from the inbox."));
    show(nodes);
    result.className = "simulator-result alert " + (inbound ? "alert-ok" : "alert-warn");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.textcast.clearErrors(form);
    var button = document.getElementById("simulator-send");
    button.disabled = true;
    var payload = { sender: sender.value.trim(), body: body.value };
    latestInboxId().then(function (after) {
      return api("POST", "/api/v1/simulator/texts", payload).then(function (sent) {
        result.className = "simulator-result alert";
        show([line("Sent “" + sent.body + "” from " + sent.sender + ". Waiting for textcast to receive it…")]);
        return follow(sent, after).then(function (inbound) {
          received(sent, inbound);
          // The answer to a keyword goes out a moment later: show it when it has.
          refreshTraffic().then(function () { window.setTimeout(refreshTraffic, 2500); });
        });
      });
    }).then(function () {
      button.disabled = false;
    }, function (error) {
      button.disabled = false;
      window.textcast.showErrors(form, error);
    });
  });
})();
