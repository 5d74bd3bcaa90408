// The segment builder (segment_builder.html): rules picked with selects and inputs instead of
// typed as JSON. Groups of conditions match all or any of them and nest up to the page's
// `max_depth`. The JSON under "Advanced" follows every change and can be edited too; the count
// follows both, through POST /api/v1/segment-previews (debounced, the previous one aborted).
// Saving posts (or patches) the segment, then opens its page.
"use strict";
(function () {
  var form = document.getElementById("segment-builder");
  if (!form) return;
  var choices = JSON.parse(form.getAttribute("data-choices"));
  var segmentId = form.getAttribute("data-segment-id");
  var root = document.getElementById("segment-rules-builder");
  var json = document.getElementById("segment-json");
  var jsonError = document.getElementById("segment-json-error");
  var notBuilt = document.getElementById("segment-not-built");
  var countOut = document.getElementById("segment-count");
  var wordsOut = document.getElementById("segment-words");
  var problemsOut = document.getElementById("segment-live-problems");

  var TEXT_OPS = [["eq", "is"], ["ne", "is not"], ["contains", "contains"],
    ["exists", "is set"], ["not_exists", "is not set"]];
  var BUILT_IN = [
    ["status", "Consent", [["eq", "is"], ["ne", "is not"]]],
    ["country", "Country", [["eq", "is"], ["ne", "is not"], ["in", "is one of"],
      ["not_in", "is none of"]]],
    ["list", "Lists", [["in", "is on"], ["not_in", "is not on"]]],
    ["first_name", "First name", TEXT_OPS],
    ["last_name", "Last name", TEXT_OPS],
    ["created_at", "Date added (UTC)", [["before", "is before"], ["after", "is after"]]],
  ];
  var ATTRIBUTE_OPS = [["eq", "is"], ["ne", "is not"], ["in", "is one of"],
    ["not_in", "is none of"], ["contains", "contains"], ["gt", "is more than"],
    ["lt", "is less than"], ["exists", "is set"], ["not_exists", "is not set"]];
  var STATUSES = [["subscribed", "subscribed"], ["unsubscribed", "unsubscribed"],
    ["invalid", "invalid number"]];

  function opsOf(field) {
    if (field.indexOf("attributes.") === 0) return ATTRIBUTE_OPS;
    for (var i = 0; i < BUILT_IN.length; i++) if (BUILT_IN[i][0] === field) return BUILT_IN[i][2];
    return null;
  }

  function isGroup(item) {
    return item !== null && typeof item === "object" && !Array.isArray(item) &&
      !("field" in item) && ("conditions" in item || "match" in item);
  }

  function isList(op) { return op === "in" || op === "not_in"; }

  // A value that fits the field and operator, keeping what it can of the one before.
  function fittingValue(field, op, value) {
    if (op === "exists" || op === "not_exists") return undefined;
    var values = Array.isArray(value) ? value : (value === undefined || value === "" ? [] : [value]);
    if (field === "list") return values.filter(function (v) { return typeof v === "number"; });
    if (isList(op)) return values;
    var one = values.length ? values[0] : "";
    if (field === "status") return typeof one === "string" && one ? one : "subscribed";
    if (field === "country") return typeof one === "string" && one ? one : "US";
    if (op === "gt" || op === "lt") return typeof one === "number" ? one : "";
    if (field === "created_at") return typeof one === "string" ? one : "";
    return one;
  }

  function newCondition() {
    return { field: "status", op: "eq", value: "subscribed" };
  }

  // Rules the builder can show: known fields and operators, groups no deeper than allowed.
  function buildable(group, depth) {
    if (!isGroup(group) || !Array.isArray(group.conditions) || depth > choices.max_depth) {
      return false;
    }
    return group.conditions.every(function (item) {
      if (isGroup(item)) return buildable(item, depth + 1);
      if (!item || typeof item.field !== "string") return false;
      var ops = opsOf(item.field);
      return !!ops && ops.some(function (pair) { return pair[0] === item.op; });
    });
  }

  var rules = JSON.parse(form.getAttribute("data-rules")) ||
    { match: "all", conditions: [newCondition()] };
  var builds = buildable(rules, 1);

  // -- drawing -------------------------------------------------------------------------------

  var ids = 0;
  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (attributes[name] !== null && attributes[name] !== undefined) {
        node.setAttribute(name, attributes[name]);
      }
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function select(label, options, current, multiple) {
    var node = element("select", { "aria-label": label, multiple: multiple ? "" : null });
    options.forEach(function (pair) {
      var option = element("option", { value: String(pair[0]) }, pair[1]);
      var chosen = multiple ? current.indexOf(pair[0]) >= 0 : String(current) === String(pair[0]);
      if (chosen) option.selected = true;
      node.appendChild(option);
    });
    if (multiple) node.size = Math.min(Math.max(options.length, 2), 6);
    return node;
  }

  // "condition 2", or "condition 1 of group 3" for a condition inside a group.
  function place(path) {
    var words = "condition " + (path[path.length - 1] + 1);
    for (var i = path.length - 2; i >= 0; i--) words += " of group " + (path[i] + 1);
    return words;
  }

  function fieldOptions(current) {
    var node = element("select", { "aria-label": "Field of " + current.place });
    var contact = element("optgroup", { label: "Contact" });
    BUILT_IN.forEach(function (field) {
      contact.appendChild(element("option", { value: field[0] }, field[1]));
    });
    node.appendChild(contact);
    var keys = choices.attributes.slice();
    if (current.field.indexOf("attributes.") === 0 && keys.indexOf(current.field.slice(11)) < 0) {
      keys.push(current.field.slice(11));
    }
    if (keys.length) {
      var attributes = element("optgroup", { label: "Attributes" });
      keys.sort().forEach(function (key) {
        attributes.appendChild(element("option", { value: "attributes." + key }, key));
      });
      node.appendChild(attributes);
    }
    node.appendChild(element("option", { value: "attributes.*" }, "Another attribute…"));
    node.value = current.field === "attributes." ? "attributes.*" : current.field;
    return node;
  }

  function valueInput(condition, where) {
    var label = "Value of " + where;
    var field = condition.field;
    var op = condition.op;
    if (op === "exists" || op === "not_exists") return null;
    if (field === "status") return select(label, STATUSES, condition.value, false);
    if (field === "country") {
      var countries = choices.countries.map(function (c) { return [c.code, c.name]; });
      return select(label, countries, isList(op) ? condition.value : condition.value, isList(op));
    }
    if (field === "list") {
      if (!choices.lists.length) {
        return element("p", { "class": "hint" }, "No lists yet.");
      }
      var lists = choices.lists.map(function (l) { return [l.id, l.name]; });
      return select(label, lists, condition.value, true);
    }
    var input = element("input", { "aria-label": label, autocomplete: "off" });
    if (field === "created_at") {
      input.type = "date";
    } else if (op === "gt" || op === "lt") {
      input.type = "number";
      input.step = "any";
    } else {
      input.type = "text";
      input.maxLength = isList(op) ? 2000 : 200;
      if (isList(op)) input.placeholder = "values, separated by commas";
    }
    input.value = isList(op) ? condition.value.join(", ") : String(condition.value);
    return input;
  }

  function drawCondition(condition, path) {
    var where = place(path);
    var row = element("div", { "class": "segment-condition", "data-path": path.join(".") });
    var field = fieldOptions({ field: condition.field, place: where });
    field.setAttribute("data-role", "field");
    row.appendChild(field);
    var op = select("Comparison of " + where, opsOf(condition.field), condition.op, false);
    op.setAttribute("data-role", "op");
    row.appendChild(op);
    var value = valueInput(condition, where);
    if (value) {
      value.setAttribute("data-role", "value");
      row.appendChild(value);
    }
    var remove = element("button", { type: "button", "class": "secondary segment-remove",
      "data-role": "remove", "aria-label": "Remove " + where }, "Remove");
    row.appendChild(remove);
    if (condition.field.indexOf("attributes.") === 0) {
      var keyRow = element("div", { "class": "segment-attribute-key" });
      if (condition.field === "attributes.") {
        var id = "segment-key-" + (++ids);
        keyRow.appendChild(element("label", { "for": id }, "Attribute name of " + where));
        var key = element("input", { id: id, type: "text", maxlength: "64", autocomplete: "off",
          "data-role": "key", pattern: "[A-Za-z0-9_]{1,64}" });
        keyRow.appendChild(key);
        row.appendChild(keyRow);
      }
    }
    return row;
  }

  function drawGroup(group, path) {
    var depth = path.length + 1;
    var box = element(path.length ? "fieldset" : "div",
      { "class": "segment-group", "data-path": path.join(".") });
    var title = path.length ? "Group " + place(path).replace("condition ", "") : "Contacts";
    var head = element(path.length ? "legend" : "p", { "class": "segment-match" });
    head.appendChild(document.createTextNode(
      path.length ? "Group: contacts matching " : "Contacts matching "));
    var match = select("Match all or any, " + (path.length ? "in group " +
      place(path).replace("condition ", "") : "for the whole segment"),
      [["all", "all"], ["any", "any"]], group.match || "all", false);
    match.setAttribute("data-role", "match");
    head.appendChild(match);
    head.appendChild(document.createTextNode(" of these:"));
    box.appendChild(head);
    box.setAttribute("aria-label", title);
    var items = element("div", { "class": "segment-items" });
    group.conditions.forEach(function (item, index) {
      var at = path.concat([index]);
      items.appendChild(isGroup(item) ? drawGroup(item, at) : drawCondition(item, at));
    });
    box.appendChild(items);
    var actions = element("div", { "class": "actions segment-group-actions" });
    var inGroup = path.length ? " to group " + place(path).replace("condition ", "") : "";
    actions.appendChild(element("button", { type: "button", "class": "secondary",
      "data-role": "add-condition" }, "Add condition" + inGroup));
    if (depth < choices.max_depth) {
      actions.appendChild(element("button", { type: "button", "class": "secondary",
        "data-role": "add-group" }, "Add group" + inGroup));
    }
    if (path.length) {
      actions.appendChild(element("button", { type: "button", "class": "secondary",
        "data-role": "remove-group", "aria-label": "Remove group " +
        place(path).replace("condition ", "") }, "Remove group"));
    }
    box.appendChild(actions);
    return box;
  }

  function draw(focus) {
    var kept = root.querySelector("noscript");
    root.textContent = "";
    if (kept) root.appendChild(kept);
    notBuilt.hidden = builds;
    if (!builds) {
      document.getElementById("segment-advanced").open = true;
      return;
    }
    root.appendChild(drawGroup(rules, []));
    if (focus) {
      var target = root.querySelector('[data-path="' + focus.path + '"] > [data-role="' +
        focus.role + '"], [data-path="' + focus.path + '"] > * > [data-role="' + focus.role + '"]');
      if (target) target.focus();
    }
  }

  // -- changes -------------------------------------------------------------------------------

  function at(path) {
    var item = rules;
    path.forEach(function (index) { item = item.conditions[index]; });
    return item;
  }

  function pathOf(node) {
    var holder = node.closest("[data-path]");
    var text = holder.getAttribute("data-path");
    return text === "" ? [] : text.split(".").map(Number);
  }

  function readValue(condition, node) {
    if (node.tagName === "SELECT" && node.multiple) {
      var picked = Array.prototype.filter.call(node.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
      return condition.field === "list" ? picked.map(Number) : picked;
    }
    var text = node.value;
    if (isList(condition.op)) {
      return text.split(",").map(function (v) { return v.trim(); })
        .filter(function (v) { return v !== ""; });
    }
    if (condition.op === "gt" || condition.op === "lt") {
      return text.trim() === "" || isNaN(Number(text)) ? text : Number(text);
    }
    return text;
  }

  function setField(condition, field) {
    condition.field = field;
    var ops = opsOf(field);
    if (!ops.some(function (pair) { return pair[0] === condition.op; })) condition.op = ops[0][0];
    var value = fittingValue(field, condition.op, condition.value);
    if (value === undefined) delete condition.value;
    else condition.value = value;
  }

  root.addEventListener("change", function (event) {
    var node = event.target;
    var role = node.getAttribute("data-role");
    var path = pathOf(node);
    var item = at(path);
    if (role === "match") {
      item.match = node.value;
    } else if (role === "field") {
      if (node.value === "attributes.*") setField(item, "attributes.");
      else setField(item, node.value);
      changed({ path: path.join("."), role: item.field === "attributes." ? "key" : "field" });
      return;
    } else if (role === "op") {
      item.op = node.value;
      var value = fittingValue(item.field, item.op, item.value);
      if (value === undefined) delete item.value;
      else item.value = value;
      changed({ path: path.join("."), role: "op" });
      return;
    } else if (role === "value") {
      item.value = readValue(item, node);
    } else {
      return;  // an attribute's name: see below
    }
    edited();
  });

  root.addEventListener("input", function (event) {
    var node = event.target;
    var role = node.getAttribute("data-role");
    if (role === "value" && node.tagName === "INPUT") {
      var item = at(pathOf(node));
      item.value = readValue(item, node);
      edited();
    }
  });

  // An attribute named by hand becomes a field of its own once the name is finished.
  root.addEventListener("change", function (event) {
    var node = event.target;
    if (node.getAttribute("data-role") !== "key") return;
    var key = node.value.trim();
    if (!/^[A-Za-z0-9_]{1,64}$/.test(key)) {
      node.setAttribute("aria-invalid", "true");
      return;
    }
    var path = pathOf(node);
    at(path).field = "attributes." + key;
    changed({ path: path.join("."), role: "op" });
  });

  root.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-role]");
    if (!button) return;
    var role = button.getAttribute("data-role");
    var path = pathOf(button);
    var item = at(path);
    if (role === "add-condition" || role === "add-group") {
      var added = role === "add-group"
        ? { match: "any", conditions: [newCondition()] } : newCondition();
      item.conditions.push(added);
      var where = path.concat([item.conditions.length - 1]);
      changed({ path: role === "add-group" ? where.concat([0]).join(".") : where.join("."),
        role: "field" });
    } else if (role === "remove" || role === "remove-group") {
      var parentPath = path.slice(0, -1);
      var parent = at(parentPath);
      parent.conditions.splice(path[path.length - 1], 1);
      if (!parent.conditions.length && parentPath.length) {
        at(parentPath.slice(0, -1)).conditions.splice(parentPath[parentPath.length - 1], 1);
      }
      if (!rules.conditions.length) rules.conditions.push(newCondition());
      changed({ path: "", role: "add-condition" });
    }
  });

  // -- the JSON, both ways -------------------------------------------------------------------

  function showJson() {
    if (document.activeElement !== json) json.value = JSON.stringify(rules, null, 2);
  }

  json.addEventListener("input", function () {
    var parsed;
    try {
      parsed = JSON.parse(json.value);
    } catch (error) {
      jsonError.textContent = "Not valid JSON yet: " + error.message;
      jsonError.hidden = false;
      json.setAttribute("aria-invalid", "true");
      return;
    }
    jsonError.hidden = true;
    json.removeAttribute("aria-invalid");
    rules = parsed;
    builds = buildable(rules, 1);
    draw(null);
    count();
  });
  json.addEventListener("blur", showJson);

  // A change of shape redraws the builder (keeping the focus where it was); a new value only
  // updates the JSON and the count, so the field being typed in stays as it is.
  function changed(focus) {
    draw(focus);
    edited();
  }

  function edited() {
    showJson();
    count();
  }

  // -- the live count ------------------------------------------------------------------------

  var timer = null;
  var running = null;

  function count() {
    window.clearTimeout(timer);
    timer = window.setTimeout(preview, 350);
  }

  function inWords(problem) {
    var found = problem.field.match(/conditions\[\d+\]/g) || [];
    if (found.length !== 1 || /^condition /.test(problem.message)) return problem.message;
    return "condition " + (Number(found[0].slice(11, -1)) + 1) + ": " + problem.message;
  }

  function markProblems(problems) {
    root.querySelectorAll("[aria-invalid]").forEach(function (node) {
      node.removeAttribute("aria-invalid");
    });
    problems.forEach(function (problem) {
      var indices = (problem.field.match(/conditions\[(\d+)\]/g) || []).map(function (part) {
        return part.slice(11, -1);
      });
      var row = root.querySelector('[data-path="' + indices.join(".") + '"]');
      if (!row || !indices.length) return;
      var part = /\.(field|op|value)(\[\d+\])?$/.exec(problem.field);
      var target = row.querySelector(':scope > [data-role="' + (part ? part[1] : "field") + '"]');
      if (target) target.setAttribute("aria-invalid", "true");
    });
  }

  function listProblems(list, problems) {
    list.textContent = "";
    problems.forEach(function (problem) {
      list.appendChild(element("li", {}, inWords(problem)));
    });
    list.hidden = !problems.length;
  }

  function preview() {
    if (running) running.abort();
    running = new AbortController();
    countOut.textContent = "Counting…";
    window.textcast.api("POST", "/api/v1/segment-previews", { rules: rules },
      { signal: running.signal }).then(function (found) {
      running = null;
      countOut.textContent = found.contacts.toLocaleString() +
        (found.contacts === 1 ? " contact matches" : " contacts match") + " now, " +
        found.subscribed.toLocaleString() + " of them subscribed.";
      wordsOut.textContent = found.description;
      listProblems(problemsOut, []);
      markProblems([]);
    }, function (error) {
      if (error.name === "AbortError") return;
      running = null;
      var problems = (error.body && error.body.problems) || [];
      countOut.textContent = problems.length
        ? "Not counted: finish or fix these conditions." : "Not counted: " + error.message;
      wordsOut.textContent = "";
      listProblems(problemsOut, problems);
      markProblems(problems);
    });
  }

  // -- saving --------------------------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = document.getElementById("segment-save");
    if (!button) return;
    window.textcast.clearErrors(form);
    var body = { name: document.getElementById("segment-name").value.trim(), rules: rules };
    var method = segmentId ? "PATCH" : "POST";
    var path = "/api/v1/segments" + (segmentId ? "/" + segmentId : "");
    button.disabled = true;
    window.textcast.api(method, path, body).then(function (saved) {
      window.location.assign("/segments/" + saved.id);
    }, function (error) {
      button.disabled = false;
      var problems = ((error.body && error.body.problems) || []).filter(function (p) {
        return p.field.indexOf("rules") === 0;
      });
      window.textcast.showErrors(form, error);
      if (problems.length) {
        listProblems(problemsOut, problems);
        markProblems(problems);
      }
    });
  });

  draw(null);
  showJson();
  preview();
})();
