// Contacts pages: forms with data-api-form="POST /api/v1/..." send their fields to the API as
// JSON (opt-out, opt-in, a new list, a new segment, saving an inbox sender), then reload or go
// to data-then; data-confirm asks first. A field with data-json is parsed as JSON; empty fields
// are left out. A contact's page also has its edit form and its lists, and follows the
// contact's consent while it is open.
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
    var missing = Array.prototype.filter.call(form.querySelectorAll("[required]"), function (field) {
      return !field.disabled && field.value.trim() === "";
    }).map(function (field) {
      var label = form.querySelector('label[for="' + field.id + '"]');
      return { field: field.name, message: (label ? label.textContent : field.name) + " is required." };
    });
    if (missing.length) {
      fail(form, { message: "Please fill in the form.", body: { problems: missing } });
      return;
    }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
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

  // A contact's edit form: names and time zone as they are (an emptied one is removed), and
  // only the attributes that changed (a removed or renamed one is sent as null, which removes
  // it). A value keeps its type (number, true/false) while it still reads as one.
  var NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

  function typed(text, kind) {
    if (kind === "number" && NUMBER.test(text)) return Number(text);
    if (kind === "boolean" && (text === "true" || text === "false")) return text === "true";
    return text;
  }

  function attributeChanges(form, problems) {
    var changes = {};
    var kept = {};
    form.querySelectorAll("[data-attribute-row]").forEach(function (row) {
      var key = row.querySelector(".attribute-key").value.trim();
      var value = row.querySelector(".attribute-value").value;
      var original = row.getAttribute("data-original-key");
      if (!key) {
        if (value.trim() !== "") problems.push({ field: "attributes", message: "an attribute needs a name" });
        if (original !== null && !(original in kept)) changes[original] = null;
        return;
      }
      if (key in kept) {
        problems.push({ field: "attributes", message: "two attributes are named " + key });
        return;
      }
      kept[key] = true;
      if (original !== null && original !== key && !(original in kept)) changes[original] = null;
      if (original === key && value === row.getAttribute("data-original-value")) {
        delete changes[key];
        return;
      }
      changes[key] = typed(value, original === key ? row.getAttribute("data-original-type") : "string");
    });
    return changes;
  }

  var edit = document.getElementById("contact-edit-form");
  if (edit) {
    var rows = document.getElementById("edit-attribute-rows");
    var template = document.getElementById("attribute-row-template");
    var add = document.getElementById("attribute-add");
    var fresh = 0;
    var most = Number(document.getElementById("edit-attributes").getAttribute("data-max"));
    var limit = function () { add.disabled = rows.children.length >= most; };
    limit();
    add.addEventListener("click", function () {
      fresh += 1;
      var row = template.content.firstElementChild.cloneNode(true);
      row.querySelectorAll("[id]").forEach(function (node) {
        var label = row.querySelector('label[for="' + node.id + '"]');
        node.id = node.id.replace("-new", "-new" + fresh);
        if (label) label.setAttribute("for", node.id);
      });
      rows.appendChild(row);
      limit();
      row.querySelector(".attribute-key").focus();
    });
    rows.addEventListener("click", function (event) {
      var remove = event.target.closest("[data-attribute-remove]");
      if (!remove) return;
      var row = remove.closest("[data-attribute-row]");
      if (row.hasAttribute("data-original-key")) {
        // Kept hidden, with an empty name: saving removes the attribute.
        row.querySelector(".attribute-key").value = "";
        row.querySelector(".attribute-value").value = "";
        row.hidden = true;
      } else {
        row.remove();
      }
      limit();
      add.focus();
    });
    edit.addEventListener("submit", function (event) {
      event.preventDefault();
      var problems = [];
      var body = {};
      ["first_name", "last_name", "time_zone"].forEach(function (name) {
        var value = edit.elements[name].value.trim();
        body[name] = value === "" ? null : value;
      });
      var attributes = attributeChanges(edit, problems);
      if (problems.length) {
        fail(edit, { message: "Please correct the attributes.", body: { problems: problems } });
        return;
      }
      if (Object.keys(attributes).length) body.attributes = attributes;
      var action = edit.getAttribute("data-contact-edit").split(" ");
      var button = edit.querySelector('button[type="submit"]');
      button.disabled = true;
      window.textcast.api(action[0], action[1], body).then(function () {
        window.location.reload();
      }, function (error) {
        button.disabled = false;
        fail(edit, error);
      });
    });
  }

  // Add the contact to the list chosen.
  var addToList = document.getElementById("contact-list-form");
  if (addToList) {
    addToList.addEventListener("submit", function (event) {
      event.preventDefault();
      var contactId = Number(addToList.getAttribute("data-contact-list-add"));
      var listId = addToList.elements.list_id.value;
      var button = addToList.querySelector('button[type="submit"]');
      button.disabled = true;
      window.textcast.api("POST", "/api/v1/lists/" + listId + "/members",
        { contact_ids: [contactId] }).then(function () {
        window.location.reload();
      }, function (error) {
        button.disabled = false;
        fail(addToList, error);
      });
    });
  }

  // A contact's page follows its consent ledger, so a STOP texted in while it is open shows:
  // the page reloads, unless somebody is typing in it (then it says so).
  function changed(field) {
    if (field.type === "hidden") return false;
    if (field.tagName === "SELECT") {
      return Array.prototype.some.call(field.options, function (option) {
        return option.selected !== option.defaultSelected;
      });
    }
    return field.value !== field.defaultValue;
  }

  function typing() {
    var active = document.activeElement;
    if (active && active.form) return true;
    return Array.prototype.some.call(
      document.querySelectorAll("form input, form textarea, form select"), changed);
  }

  var status = document.getElementById("contact-status");
  if (status && status.hasAttribute("data-contact-id")) {
    var path = "/api/v1/contacts/" + status.getAttribute("data-contact-id") + "/consent";
    var known = Number(status.getAttribute("data-consent-events"));
    window.textcast.every(3000, function () {
      return window.textcast.api("GET", path).then(function (record) {
        if (record.ledger.length === known) return true;
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
