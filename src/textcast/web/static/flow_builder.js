// The flow builder (/flows/{id}): the definition JSON in the form's textarea, shown as a
// vertical list of steps edited in place (a branch's yes and no columns side by side). Every
// change is written back to the textarea, and the form posts it as it would without this
// script. Texts are counted as the campaign editor counts them (textcast.editorText from
// editor.js, then the API's answer); merge-field buttons insert the same {{ field }}s.
"use strict";
(function () {
  var textcast = window.textcast;

  // Forms that ask first (archive, delete, move): on every flow page.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  var form = document.getElementById("flow-form");
  if (!form) return;
  var textarea = document.getElementById("definition");
  var definition;
  try {
    definition = JSON.parse(textarea.value);
  } catch (error) {
    return; // not JSON (a refused save): the textarea stays, with the problem above it
  }
  if (!definition || typeof definition !== "object" || Array.isArray(definition)) return;
  if (!Array.isArray(definition.steps)) definition.steps = [];
  if (!definition.trigger || typeof definition.trigger !== "object") {
    definition.trigger = { type: "subscribed" };
  }

  var config = JSON.parse(form.getAttribute("data-builder"));
  var counting = JSON.parse(form.getAttribute("data-counting"));
  var readOnly = form.hasAttribute("data-read-only");
  var root = document.getElementById("flow-builder");
  var problems = config.problems || [];
  var uid = 0;

  var STEP_WORDS = {
    send: "Send a text", wait: "Wait", branch: "Branch", update: "Update the contact",
    exit: "Exit",
  };
  var TRIGGERS = [
    ["subscribed", "Someone subscribes"], ["keyword", "A subscriber texts a keyword"],
    ["event", "Your shop or app posts an event"], ["date", "A date in the contact's attributes"],
    ["segment", "A contact enters a segment"],
  ];
  var WAITS = [
    ["for", "For a while"], ["until_time", "Until a time of day"],
    ["until_date", "Until a date attribute"], ["until_event", "Until an event (or a timeout)"],
  ];
  var CONDITIONS = [
    ["clicked", "Clicked a link"], ["replied", "Replied"], ["attribute", "A contact attribute"],
    ["event", "A property of the event"], ["list", "Is on a list"], ["segment", "Is in a segment"],
    ["arrived", "The awaited event arrived"],
  ];
  var OPERATORS = [
    ["equals", "equals"], ["not_equals", "does not equal"], ["contains", "contains"],
    ["is_set", "is set"], ["is_not_set", "is not set"], ["greater_than", "is greater than"],
    ["less_than", "is less than"],
  ];

  // --- Small DOM helpers ---

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (value === false || value === null || value === undefined) return;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function nextId() { uid += 1; return "flow-field-" + uid; }

  // A labelled input bound to `object[key]`: typing changes the definition, nothing re-renders.
  function field(label, object, key, options) {
    options = options || {};
    var id = nextId();
    var input;
    if (options.choices) {
      input = el("select", { id: id });
      options.choices.forEach(function (choice) {
        input.appendChild(el("option", { value: choice[0], text: choice[1] }));
      });
      input.value = object[key] === undefined || object[key] === null ? "" : String(object[key]);
    } else if (options.multiline) {
      input = el("textarea", { id: id, rows: options.rows || 4 });
      input.value = object[key] || "";
    } else {
      input = el("input", { id: id, type: options.type || "text", autocomplete: "off" });
      input.value = object[key] === undefined || object[key] === null ? "" : String(object[key]);
      if (options.placeholder) input.placeholder = options.placeholder;
    }
    if (options.name) input.setAttribute("data-field", options.name);
    input.disabled = readOnly;
    input.addEventListener(options.choices ? "change" : "input", function () {
      var value = options.read ? options.read(input.value) : input.value;
      if (value === undefined) delete object[key];
      else object[key] = value;
      sync();
      if (options.rerender) render();
    });
    var wrap = el("div", { class: "flow-field" }, [el("label", { for: id, text: label }), input]);
    if (options.hint) wrap.appendChild(el("p", { class: "hint", text: options.hint }));
    return wrap;
  }

  function idOrNothing(value) { return value === "" ? undefined : Number(value); }
  function textOrNothing(value) { return value.trim() === "" ? undefined : value.trim(); }

  function button(text, onClick, attributes) {
    var node = el("button", Object.assign({ type: "button", class: "secondary" }, attributes || {}));
    node.textContent = text;
    node.disabled = readOnly || Boolean(attributes && attributes.disabled);
    node.addEventListener("click", onClick);
    return node;
  }

  function sync() { textarea.value = JSON.stringify(definition, null, 2); }

  // --- Steps ---

  function allIds(steps, found) {
    found = found || {};
    (steps || []).forEach(function (step) {
      if (step && step.id) found[step.id] = true;
      if (step && step.type === "branch") { allIds(step.yes, found); allIds(step.no, found); }
    });
    return found;
  }

  function newStep(type) {
    var ids = allIds(definition.steps);
    var number = 1;
    while (ids[type + "_" + number]) number += 1;
    var step = { id: type + "_" + number, type: type };
    if (type === "send") step.body = "";
    if (type === "wait") step["for"] = "1d";
    if (type === "branch") {
      step["if"] = { kind: "clicked", within: "1d" };
      step.yes = [];
      step.no = [];
    }
    if (type === "update") step.set = {};
    return step;
  }

  // Structural changes: the server's problems were about what was sent, not this any more.
  function changed() {
    problems = [];
    sync();
    render();
  }

  function adder(steps, index, label) {
    var id = nextId();
    var choice = el("select", { id: id, "aria-label": label });
    Object.keys(STEP_WORDS).forEach(function (type) {
      choice.appendChild(el("option", { value: type, text: STEP_WORDS[type] }));
    });
    choice.disabled = readOnly;
    return el("div", { class: "flow-add" }, [
      choice,
      button(label, function () {
        steps.splice(index, 0, newStep(choice.value));
        changed();
      }, { "data-add": label }),
    ]);
  }

  function figures(step) {
    var counts = config.figures[step.id] || {};
    var list = el("dl", { class: "flow-figures", "aria-label": "Figures of step " + step.id });
    config.figureNames.forEach(function (pair) {
      list.appendChild(el("div", { "data-figure": pair[0] }, [
        el("dt", { text: pair[1] }),
        el("dd", { text: String(counts[pair[0]] || 0) }),
      ]));
    });
    return list;
  }

  function column(steps, path, label) {
    var list = el("ol", { class: "flow-steps", "aria-label": label });
    steps.forEach(function (step, index) {
      list.appendChild(stepItem(steps, index, path + "[" + index + "]"));
    });
    return list;
  }

  function stepItem(steps, index, path) {
    var step = steps[index];
    var type = step && step.type;
    var item = el("li", {
      class: "flow-step flow-step-" + type, "data-path": path, "data-step": step.id || "",
    });
    var head = el("div", { class: "flow-step-head" }, [
      el("h3", { class: "flow-step-title" }, [
        (STEP_WORDS[type] || "Step") + " ", el("code", { text: step.id || "" }),
      ]),
      figures(step),
    ]);
    item.appendChild(head);
    var editor = el("div", { class: "flow-step-body" });
    if (type === "send") sendEditor(editor, step);
    else if (type === "wait") waitEditor(editor, step);
    else if (type === "branch") branchEditor(editor, step);
    else if (type === "update") updateEditor(editor, step);
    else if (type === "exit") editor.appendChild(el("p", { class: "hint", text: "The run ends here." }));
    item.appendChild(editor);
    item.appendChild(el("div", { class: "flow-step-problems", "aria-live": "polite" }));
    if (type === "branch") {
      item.appendChild(el("div", { class: "flow-columns" }, ["yes", "no"].map(function (side) {
        if (!Array.isArray(step[side])) step[side] = [];
        var heading = side === "yes" ? "Yes" : "No";
        return el("div", { class: "flow-column flow-column-" + side }, [
          el("h4", { text: heading }),
          readOnly ? null : adder(step[side], 0, "Add at the top of " + heading + " (" + step.id + ")"),
          column(step[side], path + "." + side, heading + " of " + step.id),
        ]);
      })));
    }
    if (!readOnly) {
      item.appendChild(el("div", { class: "actions flow-step-controls" }, [
        button("Up", function () {
          steps.splice(index - 1, 0, steps.splice(index, 1)[0]);
          changed();
        }, { disabled: index === 0, "aria-label": "Move " + step.id + " up" }),
        button("Down", function () {
          steps.splice(index + 1, 0, steps.splice(index, 1)[0]);
          changed();
        }, { disabled: index === steps.length - 1, "aria-label": "Move " + step.id + " down" }),
        button("Remove", function () {
          steps.splice(index, 1);
          changed();
        }, { class: "danger", "aria-label": "Remove " + step.id }),
        adder(steps, index + 1, "Add after " + step.id),
      ]));
    }
    return item;
  }

  // --- Each kind of step ---

  function mergeFields() {
    var names = (config.fields || []).slice();
    var found = {};
    var pattern = /\{\{\s*(event\.[A-Za-z0-9_]+)/g;
    JSON.stringify(definition.steps).replace(pattern, function (_, name) {
      found[name] = true;
      return "";
    });
    if (definition.trigger.type === "event") {
      Object.keys(found).sort().forEach(function (name) { names.push(name); });
    }
    return names;
  }

  function sendEditor(editor, step) {
    var text = field("Text", step, "body", { multiline: true, rows: 4, name: "body" });
    var box = text.querySelector("textarea");
    // The campaign editor's counter line, filled by its own showCountIn (editor.js).
    var counter = el("p", { class: "editor-counter flow-counter", "data-source": "estimate" }, [
      el("span", { class: "editor-counter-label", text: "Template:" }), " ",
      el("span", { class: "status", "data-count": "encoding", text: "GSM-7" }), " ",
      el("span", {}, [el("span", { "data-count": "chars", text: "0" }), " characters"]), " ",
      el("span", {}, [
        el("span", { "data-count": "parts", text: "1" }), " ",
        el("span", { "data-count": "parts-word", text: "part" }),
      ]), " ",
      el("span", {}, [el("span", { "data-count": "left", text: "160" }), " left in this part"]),
    ]);
    var help = el("div", { class: "flow-encoding-help", hidden: true });
    editor.appendChild(text);
    editor.appendChild(counter);
    editor.appendChild(help);
    var asked = null;
    function show(count, source) { textcast.showCountIn(counter, count, source); }
    // What forces UCS-2, grouped as the campaign editor groups it, with one click to replace
    // what has a GSM-7 form.
    function explain(written, report) {
      var groups = textcast.editorText.groupOffenders(report.offenders || []);
      help.hidden = groups.length === 0;
      help.replaceChildren();
      if (!groups.length) return;
      help.appendChild(el("p", { class: "hint", text: "UCS-2 (70 characters a part, not 160) " +
        "because of " + groups.map(function (group) {
          return "“" + group.character + "” (" + group.name + ")" +
            (group.replacement === null ? "" : " → " + group.replacement);
        }).join(", ") + "." }));
      if (!groups.some(function (group) { return group.replacement !== null; }) || readOnly) return;
      help.appendChild(button("Replace them", function () {
        var chars = Array.from(written);
        report.offenders.forEach(function (offender) {
          if (offender.replacement !== null && chars[offender.position] === offender.character) {
            chars[offender.position] = offender.replacement;
          }
        });
        box.value = chars.join("");
        box.dispatchEvent(new Event("input", { bubbles: true }));
      }, { "data-replace-offenders": "" }));
    }
    function ask() {
      var written = box.value;
      textcast.api("POST", "/api/v1/encoding", { text: written }).then(function (report) {
        if (box.value !== written) return;
        show(report, "api");
        explain(written, report);
      }, function () { /* the estimate stays */ });
    }
    show(textcast.editorText.estimate(box.value, counting), "estimate");
    box.addEventListener("input", function () {
      show(textcast.editorText.estimate(box.value, counting), "estimate");
      window.clearTimeout(asked);
      asked = window.setTimeout(ask, 250);
    });
    if (box.value) ask();
    var names = mergeFields();
    if (names.length && !readOnly) {
      var chips = el("ul", { class: "editor-chips" });
      names.forEach(function (name) {
        chips.appendChild(el("li", {}, [button("{{ " + name + " }}", function () {
          textcast.insertField(box, name);
        }, { "data-insert-field": name })]));
      });
      editor.appendChild(el("div", { class: "editor-fields" }, [
        el("p", { class: "hint", text: "Insert a merge field" +
          (definition.trigger.type === "event" ? " (event.NAME: a property of the event that " +
            "started the run):" : ":") }),
        chips,
      ]));
    }
  }

  function waitKind(step) {
    for (var i = 0; i < WAITS.length; i++) if (WAITS[i][0] in step) return WAITS[i][0];
    return "for";
  }

  function waitEditor(editor, step) {
    var holder = { kind: waitKind(step) };
    editor.appendChild(field("Wait", holder, "kind", {
      choices: WAITS,
      read: function (kind) {
        ["for", "until_time", "until_date", "until_event", "time", "timeout"].forEach(function (k) {
          delete step[k];
        });
        var defaults = { "for": "1d", until_time: "10:00", until_date: "birthday", until_event: "" };
        step[kind] = defaults[kind];
        if (kind === "until_event") step.timeout = "1d";
        changed();
        return kind;
      },
    }));
    var kind = holder.kind;
    if (kind === "for") {
      editor.appendChild(field("How long", step, "for", {
        name: "for", hint: "30m, 2h, 3d, 1w, or 90s; combined as 1d 12h.",
      }));
    } else if (kind === "until_time") {
      editor.appendChild(field("Time of day (the contact's)", step, "until_time", { type: "time" }));
    } else if (kind === "until_date") {
      editor.appendChild(field("Date attribute", step, "until_date", {}));
      editor.appendChild(field("At", step, "time", { type: "time", read: textOrNothing }));
    } else {
      editor.appendChild(field("Event", step, "until_event", { placeholder: "order_placed" }));
      editor.appendChild(field("At most", step, "timeout", { hint: "Then the run goes on." }));
    }
  }

  function branchEditor(editor, step) {
    if (!step["if"] || typeof step["if"] !== "object") step["if"] = { kind: "clicked" };
    var condition = step["if"];
    editor.appendChild(field("If", condition, "kind", {
      choices: CONDITIONS,
      read: function (kind) {
        Object.keys(condition).forEach(function (k) { delete condition[k]; });
        if (kind === "clicked" || kind === "replied") condition.within = "1d";
        if (kind === "attribute" || kind === "event") condition.op = "equals";
        condition.kind = kind;
        changed();
        return kind;
      },
    }));
    var kind = condition.kind;
    if (kind === "clicked" || kind === "replied") {
      editor.appendChild(field("Within", condition, "within", {}));
    } else if (kind === "attribute" || kind === "event") {
      editor.appendChild(field(kind === "event" ? "Property" : "Attribute", condition, "name", {}));
      editor.appendChild(field("Test", condition, "op", { choices: OPERATORS, rerender: true }));
      if (condition.op !== "is_set" && condition.op !== "is_not_set") {
        editor.appendChild(field("Value", condition, "value", {}));
      }
    } else if (kind === "list" || kind === "segment") {
      var key = kind + "_id";
      var source = kind === "list" ? config.lists : config.segments;
      editor.appendChild(field(kind === "list" ? "List" : "Segment", condition, key, {
        choices: [["", "Choose…"]].concat(source.map(function (s) { return [String(s.id), s.name]; })),
        read: idOrNothing,
      }));
    }
    editor.appendChild(el("p", { class: "hint", text: "Both columns join again after the branch." }));
  }

  function updateEditor(editor, step) {
    var holder = {
      lines: Object.keys(step.set || {}).map(function (k) {
        return k + "=" + (step.set[k] === null ? "" : step.set[k]);
      }).join("\n"),
    };
    editor.appendChild(field("Set attributes", holder, "lines", {
      multiline: true, rows: 2, hint: "One per line: name=value (an empty value clears it).",
      read: function (text) {
        var values = {};
        text.split("\n").forEach(function (line) {
          var at = line.indexOf("=");
          if (at > 0) {
            var value = line.slice(at + 1).trim();
            values[line.slice(0, at).trim()] = value === "" ? null : value;
          }
        });
        step.set = values;
        return text;
      },
    }));
    var choices = [["", "None"]].concat(config.lists.map(function (l) { return [String(l.id), l.name]; }));
    editor.appendChild(field("Add to list", step, "add_to_list", { choices: choices, read: idOrNothing }));
    editor.appendChild(field("Remove from list", step, "remove_from_list", {
      choices: choices, read: idOrNothing,
    }));
  }

  // --- Trigger and rules ---

  function triggerSection() {
    var trigger = definition.trigger;
    var section = el("fieldset", { class: "flow-trigger", "data-section": "trigger" }, [
      el("legend", { text: "Trigger" }),
    ]);
    section.appendChild(field("Starts when", trigger, "type", {
      choices: TRIGGERS,
      read: function (type) {
        Object.keys(trigger).forEach(function (k) { delete trigger[k]; });
        if (type === "date") { trigger.attribute = "birthday"; trigger.time = "10:00"; }
        trigger.type = type;
        changed();
        return type;
      },
    }));
    var type = trigger.type;
    if (type === "subscribed") {
      section.appendChild(field("To", trigger, "list_id", {
        choices: [["", "Any list"]].concat(config.lists.map(function (l) { return [String(l.id), l.name]; })),
        read: idOrNothing,
      }));
    } else if (type === "keyword") {
      section.appendChild(field("Keyword", trigger, "keyword", { placeholder: "VIP" }));
    } else if (type === "event") {
      section.appendChild(field("Event name", trigger, "event", { placeholder: "cart_abandoned" }));
    } else if (type === "date") {
      section.appendChild(field("Date attribute", trigger, "attribute", {}));
      section.appendChild(field("At (the contact's time)", trigger, "time", { type: "time" }));
    } else if (type === "segment") {
      section.appendChild(field("Segment", trigger, "segment_id", {
        choices: [["", "Choose…"]].concat(config.segments.map(function (s) { return [String(s.id), s.name]; })),
        read: idOrNothing,
      }));
    }
    return section;
  }

  function rulesSection() {
    var section = el("fieldset", { class: "flow-rules", "data-section": "rules" }, [
      el("legend", { text: "Rules" }),
    ]);
    section.appendChild(field("A contact may enter", definition, "reentry", {
      choices: [["once", "Once, ever"], ["always", "Every time"], ["cooldown", "Again after a cooldown"]],
      rerender: true,
    }));
    if (definition.reentry === "cooldown") {
      if (!definition.cooldown) definition.cooldown = "1d";
      section.appendChild(field("Cooldown", definition, "cooldown", {}));
    } else {
      delete definition.cooldown;
    }
    section.appendChild(field("Goal event", definition, "goal", {
      placeholder: "order_placed", read: textOrNothing,
      hint: "When it arrives for a contact, their run ends there: it reached the goal.",
    }));
    if (definition.trigger.type === "event") {
      var id = nextId();
      var box = el("input", { type: "checkbox", id: id });
      box.checked = Boolean(definition.create_contacts);
      box.disabled = readOnly;
      box.addEventListener("change", function () {
        definition.create_contacts = box.checked;
        sync();
      });
      section.appendChild(el("label", { class: "choice", for: id }, [
        box, " An event for an unknown number creates the contact",
      ]));
    }
    return section;
  }

  // --- Problems from a refused save, next to what they name ---

  function placeProblems() {
    problems.forEach(function (problem) {
      var note = el("p", { class: "field-error", text: problem.message });
      var target = null;
      if (problem.step) {
        var item = root.querySelector('li[data-path="' + problem.step + '"]');
        target = item && item.querySelector(":scope > .flow-step-problems");
        if (item) item.classList.add("flow-step-invalid");
        var rest = problem.field.slice(problem.step.length + 1).split(/[.[]/)[0];
        var input = item && item.querySelector(':scope > .flow-step-body [data-field="' + rest + '"]');
        if (input) input.setAttribute("aria-invalid", "true");
      } else {
        var head = problem.field.split(/[.[]/)[0];
        var where = head === "trigger" ? "trigger" : head === "steps" ? null : "rules";
        target = where && root.querySelector('[data-section="' + where + '"]');
        if (target) note.textContent = problem.field + ": " + problem.message;
      }
      (target || root).appendChild(note);
    });
  }

  function render() {
    uid = 0;
    root.replaceChildren(
      triggerSection(),
      rulesSection(),
      el("h3", { text: "Steps" }),
      readOnly ? null : adder(definition.steps, 0, "Add at the top"),
      column(definition.steps, "steps", "Steps")
    );
    placeProblems();
  }

  render();
  root.hidden = false;
  document.getElementById("flow-json").hidden = true;
  var table = document.getElementById("flow-steps");
  if (table) table.hidden = true;
  form.addEventListener("submit", sync);
})();
