// The simulator page (/simulator): text textcast as a phone through /api/v1/simulator/texts,
// then follow the text into textcast's inbox and say what became of it (STOP, HELP, a reply),
// with links to the inbox and the contact. The lists below the form are refreshed from the page.
// A person can also sign up on a form (/api/v1/simulator/signups) and then reply Y.
"use strict";
(function () {
  var signup = document.getElementById("simulator-signup-form");
  if (signup) playAPerson(signup);

  function playAPerson(signup) {
    var api = window.textcast.api;
    var result = document.getElementById("simulator-signup-result");
    var OUTCOMES = {
      submitted: "The form took it: a confirmation text goes to the number (see the batches below), unless the form confirms at once.",
      refused: "The form refused it (422): a field is wrong or missing, or the country is not allowed.",
      limited: "The form is limiting sign-ups (429): a rate limit, a cap or the daily quota. Try later.",
      not_found: "The form answered 404: it is archived, or the public form page is not available.",
      unexpected: "The form answered something unexpected.",
    };

    function fields(text) {
      var found = {};
      text.split("\n").forEach(function (line) {
        var at = line.indexOf("=");
        if (at > 0) found[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      });
      return found;
    }

    function say(text, kind) {
      var p = document.createElement("p");
      p.textContent = text;
      result.appendChild(p);
      result.className = "simulator-result alert " + kind;
      result.hidden = false;
    }

    function replyY(phone, button) {
      button.disabled = true;
      api("POST", "/api/v1/simulator/texts", { sender: phone, body: "Y" }).then(function (sent) {
        say("Replied “Y” from " + sent.sender + ": the sign-up is confirmed when textcast receives it.", "alert-ok");
      }, function (error) {
        button.disabled = false;
        say(error.message, "alert-error");
      });
    }

    signup.addEventListener("submit", function (event) {
      event.preventDefault();
      window.textcast.clearErrors(signup);
      var button = document.getElementById("simulator-signup-send");
      button.disabled = true;
      var phone = document.getElementById("simulator-signup-phone").value.trim();
      var payload = {
        form: document.getElementById("simulator-signup-form-slug").value,
        phone: phone,
        fields: fields(document.getElementById("simulator-signup-fields").value),
      };
      api("POST", "/api/v1/simulator/signups", payload).then(function (answer) {
        button.disabled = false;
        result.textContent = "";
        say(answer.status_code + " from " + answer.url + ". " + OUTCOMES[answer.outcome],
          answer.outcome === "submitted" ? "alert-ok" : "alert-warn");
        if (answer.outcome !== "submitted") return;
        var reply = document.createElement("button");
        reply.type = "button";
        reply.id = "simulator-reply-y";
        reply.textContent = "Reply Y from " + phone;
        reply.addEventListener("click", function () { replyY(phone, reply); });
        result.appendChild(reply);
      }, function (error) {
        button.disabled = false;
        window.textcast.showErrors(signup, error);
      });
    });
  }

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
    inbox.href = contactId ? "/inbox/texts?contact_id=" + contactId : "/inbox/texts";
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
