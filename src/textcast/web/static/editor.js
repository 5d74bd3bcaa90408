// The campaign editor (/campaigns/new, /campaigns/{id}/edit) and the plan before the send
// button (/campaigns/{id}/plan). Changes go through the JSON API with window.textcast (app.js).
//
// Positions: the API counts offender positions in code points (Python's str), while a JS
// string counts UTF-16 units, where an emoji beyond the BMP takes two. Everything that maps
// an API position onto the text walks it with Array.from(text), which yields code points, and
// converts with utf16Offset() only where the DOM wants UTF-16 (the textarea's caret).
// The pure functions below are exported for node, which the tests run them under.
"use strict";
(function (root) {
  // --- Text, without the DOM ---

  // The UTF-16 offset of code point `position` in `text`.
  function utf16Offset(text, position) {
    var chars = Array.from(text);
    var offset = 0;
    for (var i = 0; i < position && i < chars.length; i++) offset += chars[i].length;
    return offset;
  }

  // The code point index of UTF-16 offset `offset` in `text`.
  function codePointIndex(text, offset) {
    return Array.from(text.slice(0, offset)).length;
  }

  // `text` cut into pieces, in order, each offender (by the API's position) a piece of its own:
  // [{text: "Hi "}, {text: "“", offender: {...}}, ...]. An offender whose character is not at
  // its position (the text changed since the answer) is not marked.
  function highlightPieces(text, offenders) {
    var marks = {};
    offenders.forEach(function (offender) { marks[offender.position] = offender; });
    var pieces = [];
    var plain = "";
    Array.from(text).forEach(function (character, index) {
      var offender = marks[index];
      if (offender && offender.character === character) {
        if (plain) pieces.push({ text: plain });
        plain = "";
        pieces.push({ text: character, offender: offender });
      } else {
        plain += character;
      }
    });
    if (plain) pieces.push({ text: plain });
    return pieces;
  }

  // `text` with the code points at `positions` (each expected to be `character`) replaced by
  // `replacement`; null when one of them is not that character any more.
  function replaceAt(text, positions, character, replacement) {
    var chars = Array.from(text);
    for (var i = 0; i < positions.length; i++) {
      if (chars[positions[i]] !== character) return null;
      chars[positions[i]] = replacement;
    }
    return chars.join("");
  }

  // Offenders that share a character and a replacement, in order of first appearance.
  function groupOffenders(offenders) {
    var groups = [];
    var byKey = {};
    offenders.forEach(function (offender) {
      var key = offender.character + "\u0000" + offender.replacement;
      if (!byKey[key]) {
        byKey[key] = {
          character: offender.character,
          name: offender.name,
          replacement: offender.replacement,
          positions: [],
        };
        groups.push(byKey[key]);
      }
      byKey[key].positions.push(offender.position);
    });
    return groups;
  }

  // The instant estimate while the API answers: same tables (from the server), same sizes.
  function estimate(text, counting) {
    if (!counting.basicSet) {
      counting.basicSet = new Set(Array.from(counting.basic));
      counting.extensionSet = new Set(Array.from(counting.extension));
    }
    var septets = 0;
    var chars = Array.from(text);
    for (var i = 0; i < chars.length; i++) {
      if (counting.basicSet.has(chars[i])) septets += 1;
      else if (counting.extensionSet.has(chars[i])) septets += 2;
      else return sized("UCS-2", text.length, counting.ucs2);  // .length: UTF-16 units
    }
    return sized("GSM-7", septets, counting.gsm7);
  }

  function sized(encoding, length, sizes) {
    var single = sizes[0];
    var perPart = sizes[1];
    if (length <= single) {
      return { encoding: encoding, length: length, parts: 1, remaining: single - length };
    }
    var parts = Math.ceil(length / perPart);
    return { encoding: encoding, length: length, parts: parts, remaining: parts * perPart - length };
  }

  function pad(number, width) {
    var text = String(number);
    while (text.length < (width || 2)) text = "0" + text;
    return text;
  }

  // A moment as ISO 8601 with this browser's offset at that moment (DST included).
  function isoWithOffset(date) {
    var offset = -date.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    var abs = Math.abs(offset);
    return (
      pad(date.getFullYear(), 4) + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()) +
      sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60)
    );
  }

  // A datetime-local value ("2026-05-01T10:00") read in this browser's time zone, as ISO 8601
  // with its offset; null when it is not one. A time skipped by a DST change moves forward.
  function localToIso(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value || "");
    if (!m) return null;
    var date = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    return isNaN(date.getTime()) ? null : isoWithOffset(date);
  }

  // An ISO 8601 moment as a datetime-local value in this browser's time zone ("" if none).
  function isoToLocal(iso) {
    var date = new Date(iso || "");
    if (isNaN(date.getTime())) return "";
    return (
      pad(date.getFullYear(), 4) + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes())
    );
  }

  // What a change sends: the fields of `now` that differ from `before`; one `before` had and
  // `now` has not (an option emptied) as null.
  function changedFields(before, now) {
    var changes = {};
    Object.keys(now).forEach(function (key) {
      if (JSON.stringify(now[key]) !== JSON.stringify(before[key])) changes[key] = now[key];
    });
    Object.keys(before).forEach(function (key) {
      if (!(key in now)) changes[key] = null;
    });
    return changes;
  }

  function partsWord(n) { return n + (n === 1 ? " part" : " parts"); }

  // What "Replace all" does to the parts, in words: `replaced` is the API's with_replacements.
  function replaceAllEffect(parts, replaced) {
    if (replaced.parts_saved > 0) {
      return { label: "Replace all: " + replaced.encoding + ", " + partsWord(replaced.parts) +
        " instead of " + parts, note: "" };
    }
    if (replaced.parts_saved < 0) {
      return { label: "Replace all (makes it longer)", note: "Replacing them all makes the " +
        "text longer: " + partsWord(replaced.parts) + " instead of " + parts +
        " (some become two characters, … becomes ...)." };
    }
    return { label: "Replace all (saves no part)", note: "Replacing them all keeps " +
      partsWord(parts) + (replaced.encoding === "UCS-2" ? ": what has no GSM-7 form keeps " +
      "it UCS-2." : ".") };
  }

  // `body` with `suffix` appended, without doubling the space or ending punctuation.
  function appendSentence(body, suffix) {
    var trimmed = body.replace(/\s+$/, "");
    if (!trimmed) return suffix.trim();
    var ended = /[.!?]$/.test(trimmed);
    return trimmed + (ended ? "" : ".") + " " + suffix.trim();
  }

  // Pasted numbers: one per line, or separated by commas or semicolons (spaces stay inside).
  function splitNumbers(text) {
    return text.split(/[\n,;]+/).map(function (s) { return s.trim(); }).filter(Boolean);
  }

  var text = {
    utf16Offset: utf16Offset,
    codePointIndex: codePointIndex,
    highlightPieces: highlightPieces,
    replaceAt: replaceAt,
    groupOffenders: groupOffenders,
    estimate: estimate,
    isoWithOffset: isoWithOffset,
    localToIso: localToIso,
    isoToLocal: isoToLocal,
    changedFields: changedFields,
    splitNumbers: splitNumbers,
    replaceAllEffect: replaceAllEffect,
    appendSentence: appendSentence,
    partsWord: partsWord,
  };
  if (typeof module === "object" && module.exports) {
    module.exports = text;
    return;
  }

  // --- The pages ---

  var textcast = root.textcast;
  textcast.editorText = text;

  // The counter line under a text (the campaign editor's, each send step of a flow's): its
  // spans marked data-count="encoding", "chars", "parts", "parts-word" and "left".
  function showCountIn(counter, count, source) {
    function part(name) { return counter.querySelector('[data-count="' + name + '"]'); }
    part("encoding").textContent = count.encoding;
    part("encoding").classList.toggle("editor-ucs2", count.encoding === "UCS-2");
    part("chars").textContent = count.length;
    part("parts").textContent = count.parts;
    part("parts-word").textContent = count.parts === 1 ? "part" : "parts";
    part("left").textContent = count.remaining;
    counter.setAttribute("data-source", source);
  }

  // A merge field written into `box` at its caret, as if typed: the counter follows.
  function insertField(box, name) {
    box.focus();
    box.setRangeText("{{ " + name + " }}", box.selectionStart, box.selectionEnd, "end");
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  textcast.showCountIn = showCountIn;
  textcast.insertField = insertField;

  function byId(id) { return document.getElementById(id); }

  function debounce(wait, fn) {
    var timer = null;
    return function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(fn, wait);
    };
  }

  // Calls `request(signal)`, aborting the previous call: only the latest answer counts.
  function latestOnly(request) {
    var controller = null;
    return function () {
      if (controller) controller.abort();
      controller = new AbortController();
      var mine = controller;
      return request(mine.signal).then(function (result) {
        if (mine !== controller) throw { superseded: true };
        return result;
      }, function (error) {
        if (mine !== controller || error.name === "AbortError") throw { superseded: true };
        throw error;
      });
    };
  }

  function problemsText(error) {
    var problems = (error.body && error.body.problems) || [];
    return problems.length
      ? problems.map(function (p) { return p.message; }).join(" ")
      : error.message;
  }


  // --- The editor's A/B test section ---
  // Tabs over the variants' text areas (variant A's is the campaign's text, moved into its
  // tab while the test is on), each with its own live counter; the test saved through the
  // dashboard's form route, its problems placed next to the fields they name.
  function setUpAbTest(form, counting) {
    var section = byId("ab-test");
    if (!section) return null;
    var labels = ["A", "B", "C", "D", "E"];
    var enabled = byId("ab_enabled");
    var count = form.querySelector('input[name="variant_count"]');
    var tabs = byId("variant-tabs");
    var bodyBlock = byId("body-block");
    var state = { shown: Math.max(2, Number(count.value) || 2), active: "A" };
    count.disabled = false;  // with the script, the tabs say how many variants there are

    function kind() {
      return form.querySelector('input[name="ab_kind"]:checked').value;
    }

    function showTabs() {
      labels.forEach(function (label, index) {
        var tab = byId("variant-tab-" + label);
        var panel = byId("variant-panel-" + label);
        var there = index < state.shown;
        tab.hidden = !there;
        tab.setAttribute("aria-selected", label === state.active ? "true" : "false");
        tab.tabIndex = label === state.active ? 0 : -1;
        panel.hidden = !there || label !== state.active;
      });
      count.value = String(state.shown);
      byId("add-variant").hidden = state.shown >= labels.length;
      byId("remove-variant").hidden = state.shown <= 2;
    }

    function choose(label) {
      state.active = label;
      showTabs();
      form.dispatchEvent(new CustomEvent("ab:shown-text"));
    }

    function show() {
      var on = enabled.checked;
      var texts = kind() === "texts";
      byId("ab-fields").hidden = !on;
      byId("ab-texts").hidden = !texts;
      byId("ab-times").hidden = texts;
      tabs.hidden = false;
      byId("variant-a-note").hidden = true;
      // Variant A's text is the campaign's: in its tab while a text test is on.
      var home = on && texts ? byId("body-slot") : byId("body-home");
      if (bodyBlock.parentNode !== home) home.appendChild(bodyBlock);
      byId("body-label").textContent = on && texts ? "Variant A's text" : "Text";
      var metric = byId("metric").value;
      byId("ab-event").hidden = metric !== "event";
      byId("decide_after_hours").disabled = !byId("decide-after").checked;
      showTabs();
      form.dispatchEvent(new CustomEvent("ab:shown-text"));
    }

    tabs.addEventListener("click", function (event) {
      var tab = event.target.closest("[data-variant]");
      if (tab) choose(tab.getAttribute("data-variant"));
    });
    tabs.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      var at = labels.indexOf(state.active) + (event.key === "ArrowRight" ? 1 : -1);
      at = (at + state.shown) % state.shown;
      choose(labels[at]);
      byId("variant-tab-" + labels[at]).focus();
    });
    byId("add-variant").addEventListener("click", function () {
      if (state.shown >= labels.length) return;
      state.shown += 1;
      choose(labels[state.shown - 1]);
      byId("variant_body_" + labels[state.shown - 1]).focus();
    });
    byId("remove-variant").addEventListener("click", function () {
      if (state.shown <= 2) return;
      var last = labels[state.shown - 1];
      var box = byId("variant_body_" + last);
      box.value = "";
      countVariant(box);
      state.shown -= 1;
      if (labels.indexOf(state.active) >= state.shown) state.active = labels[state.shown - 1];
      showTabs();
    });
    section.addEventListener("change", show);

    // Each variant's counter: instantly from the estimate, then from the API's answer.
    function countVariant(box) {
      var counter = byId("counter-" + box.getAttribute("data-variant-body"));
      showCountIn(counter, estimate(box.value, counting), "estimate");
    }
    section.querySelectorAll("[data-variant-body]").forEach(function (box) {
      var analyse = latestOnly(function (signal) {
        return textcast.api("POST", "/api/v1/encoding", { text: box.value }, { signal: signal });
      });
      var askLater = debounce(250, function () {
        var written = box.value;
        if (!written) return;
        analyse().then(function (report) {
          if (box.value === written) {
            showCountIn(byId("counter-" + box.getAttribute("data-variant-body")), report, "api");
          }
        }, function () { /* the estimate stays */ });
      });
      box.addEventListener("input", function () {
        countVariant(box);
        askLater();
        form.dispatchEvent(new CustomEvent("ab:shown-text"));
      });
      countVariant(box);
    });

    function clearProblems() {
      section.querySelectorAll("[data-ab-error]").forEach(function (note) {
        note.hidden = true;
        note.textContent = "";
      });
      form.querySelectorAll("[data-ab-error]").forEach(function (note) {
        note.hidden = true;
        note.textContent = "";
      });
    }

    // Each problem next to its field (showing its tab); one without a place goes on top.
    function showProblems(error) {
      var problems = (error.body && error.body.problems) || [];
      var unplaced = [];
      problems.forEach(function (problem) {
        var note = form.querySelector('[data-ab-error="' + problem.field + '"]');
        if (!note) { unplaced.push(problem.message); return; }
        note.textContent = problem.message;
        note.hidden = false;
        var panel = note.closest("[data-variant-panel]");
        if (panel && panel.hidden) choose(panel.getAttribute("data-variant-panel"));
      });
      var summary = byId("form-errors");
      summary.textContent = [error.message || "The A/B test was not saved."].concat(unplaced).join(" ");
      summary.hidden = false;
      summary.focus();
    }

    function testFields() {
      var data = new FormData(form);
      data.set("body", byId("body").value);
      if (!enabled.checked) data.delete("ab_enabled");
      return data;
    }

    // The section as it stands, to tell whether leaving loses a change.
    function written() {
      var data = testFields();
      data.delete("csrf_token");
      return JSON.stringify(Array.from(data.entries()));
    }

    show();
    var opened = written();
    return {
      changed: function () { return written() !== opened; },
      markSaved: function () { opened = written(); },
      // Whether saving has something to tell the test route: on, or on before.
      wanted: function () {
        return enabled.checked || form.getAttribute("data-had-test") === "true";
      },
      on: function () { return enabled.checked; },
      // The text of the variant tab in view, when it is not the campaign's own (variant A's):
      // the preview shows that one.
      shownVariant: function () {
        if (!enabled.checked || kind() !== "texts" || state.active === "A") return null;
        var box = byId("variant_body_" + state.active);
        return box ? { label: state.active, text: box.value } : null;
      },
      clearProblems: clearProblems,
      showProblems: showProblems,
      save: function (id) {
        return textcast.api("POST", "/campaigns/" + id + "/ab-test", testFields()).then(function () {
          form.setAttribute("data-had-test", enabled.checked ? "true" : "false");
        });
      },
      create: function (payload) {
        var data = testFields();
        data.set("campaign", JSON.stringify(payload));
        return textcast.api("POST", "/campaigns/ab-test", data);
      },
    };
  }

  function setUpEditor(form) {
    var counting = JSON.parse(form.getAttribute("data-counting"));
    var body = byId("body");
    var smart = byId("smart_encoding");
    var counter = byId("counter");
    var announce = byId("counter-announce");
    var counterError = byId("counter-error");
    var offendersBox = byId("offenders");
    var highlight = byId("body-highlight");
    var offenderList = byId("offender-list");
    var replaceAll = byId("replace-all");
    var smartSaving = byId("smart-saving");
    var replaceEffect = byId("replace-all-effect");
    var advice = byId("parts-advice");
    var applyAdvice = byId("apply-advice");
    var complianceBox = byId("compliance");
    var addOptOut = byId("add-opt-out");
    var state = { report: null, reportFor: null, contact: null, announced: "" };
    // A draft reopened: its times, stored in UTC, shown in this browser's time zone.
    form.querySelectorAll("input[data-iso]").forEach(function (input) {
      input.value = isoToLocal(input.getAttribute("data-iso"));
    });

    // Counter: instantly from the local estimate, then from the API's answer.
    function showCount(count, source) {
      showCountIn(counter, count, source);
      var summary = count.encoding + ", " + count.parts + (count.parts === 1 ? " part" : " parts");
      if (source === "api" && summary !== state.announced) {
        state.announced = summary;
        announce.textContent = summary;
      }
    }

    var analyse = latestOnly(function (signal) {
      var payload = { text: body.value };
      var draftId = form.getAttribute("data-campaign-id");
      if (draftId) payload.campaign_id = Number(draftId);
      return textcast.api("POST", "/api/v1/encoding", payload, { signal: signal });
    });

    function refreshCount() {
      var written = body.value;
      analyse().then(function (report) {
        if (body.value !== written) return;
        counterError.hidden = true;
        state.report = report;
        state.reportFor = written;
        showCount(report, "api");
        showOffenders(written, report);
        showCompliance(report.warnings);
      }, function (error) {
        if (error.superseded) return;
        counterError.textContent = problemsText(error);
        counterError.hidden = false;
      });
    }

    // What a marketing text lacks: advice, with the opt-out wording one click away.
    function showCompliance(warnings) {
      var list = byId("compliance-list");
      list.replaceChildren();
      warnings.forEach(function (warning) {
        var item = document.createElement("li");
        item.className = "alert alert-warn";
        item.setAttribute("data-warning", warning.code);
        item.textContent = warning.message;
        list.appendChild(item);
      });
      complianceBox.hidden = warnings.length === 0;
      addOptOut.hidden = !warnings.some(function (w) { return w.code === "no_opt_out"; });
    }

    addOptOut.addEventListener("click", function () {
      body.value = appendSentence(body.value, "Reply STOP to opt out");
      body.focus();
      body.setSelectionRange(body.value.length, body.value.length);
      body.dispatchEvent(new Event("input", { bubbles: true }));
      announce.textContent = "Added: Reply STOP to opt out.";
    });

    function showAdvice(report) {
      var found = report.advice;
      advice.hidden = !found;
      if (!found) return;
      byId("parts-advice-text").textContent = found.message;
      applyAdvice.textContent = "Remove " + found.remove.join(" ") +
        (found.parts_saved > 0 ? " (" + partsWord(found.parts) + " instead of " +
          report.parts + ")" : "");
    }

    applyAdvice.addEventListener("click", function () {
      if (state.reportFor !== body.value || !state.report.advice) { refreshCount(); return; }
      var removed = state.report.advice.remove.join(" ");
      body.value = state.report.advice.text;
      body.focus();
      body.dispatchEvent(new Event("input", { bubbles: true }));
      announce.textContent = "Removed " + removed + ".";
    });

    function showOffenders(written, report) {
      showAdvice(report);
      offendersBox.hidden = report.offenders.length === 0;
      highlight.replaceChildren();
      offenderList.replaceChildren();
      if (!report.offenders.length) return;
      highlightPieces(written, report.offenders).forEach(function (piece) {
        if (!piece.offender) {
          highlight.appendChild(document.createTextNode(piece.text));
          return;
        }
        var mark = document.createElement("mark");
        mark.textContent = piece.text;
        mark.title = piece.offender.name;
        mark.setAttribute("data-position", piece.offender.position);
        highlight.appendChild(mark);
      });
      groupOffenders(report.offenders).forEach(function (group) {
        offenderList.appendChild(offenderItem(group));
      });
      var after = report.with_replacements;
      var fixable = report.offenders.some(function (o) { return o.replacement !== null; });
      replaceAll.hidden = !fixable;
      var effect = replaceAllEffect(report.parts, after);
      replaceAll.textContent = effect.label;
      replaceEffect.textContent = effect.note;
      replaceEffect.hidden = !fixable || !effect.note;
      smartSaving.textContent = !fixable ? "" : smart.checked
        ? "Smart encoding is on: these are replaced when sending (" + after.encoding + ", " +
          textcast.plural(after.parts, "part") + " as written)."
        : "Or tick smart encoding to have them replaced when sending.";
    }

    function offenderItem(group) {
      var item = document.createElement("li");
      var shown = document.createElement("mark");
      shown.textContent = group.character;
      item.appendChild(shown);
      var where = group.positions.map(function (p) { return p + 1; }).join(", ");
      item.appendChild(document.createTextNode(
        " " + group.name + " (character " + where + ")"
      ));
      if (group.replacement === null) {
        item.appendChild(document.createTextNode(": no GSM-7 form, it keeps the text in UCS-2."));
        return item;
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.setAttribute("data-replace", group.character);
      button.appendChild(document.createTextNode("Replace with "));
      if (group.replacement === "") {
        button.appendChild(document.createTextNode("nothing"));
      } else {
        var code = document.createElement("code");
        code.textContent = group.replacement;
        button.appendChild(code);
      }
      if (group.positions.length > 1) {
        button.appendChild(document.createTextNode(" (" + group.positions.length + "×)"));
      }
      button.addEventListener("click", function () {
        var changed = replaceAt(body.value, group.positions, group.character, group.replacement);
        if (changed === null) { refreshCount(); return; }
        edit(changed, group.positions, group.replacement);
        announce.textContent = "Replaced " + group.name + ".";
      });
      item.appendChild(document.createTextNode(" "));
      item.appendChild(button);
      return item;
    }

    // Put `changed` in the textarea, keeping the caret where it was in the text around it.
    function edit(changed, positions, replacement) {
      var before = body.value;
      var caret = codePointIndex(before, body.selectionStart || 0);
      var grown = Array.from(replacement || "").length - 1;
      var moved = positions.filter(function (p) { return p < caret; }).length * grown;
      body.value = changed;
      body.focus();
      var at = utf16Offset(changed, caret + moved);
      body.setSelectionRange(at, at);
      body.dispatchEvent(new Event("input", { bubbles: true }));
    }

    replaceAll.addEventListener("click", function () {
      if (state.reportFor !== body.value) { refreshCount(); return; }
      body.value = state.report.with_replacements.text;
      body.focus();
      body.dispatchEvent(new Event("input", { bubbles: true }));
      announce.textContent = "Replaced every character that had a GSM-7 form.";
    });

    form.addEventListener("click", function (event) {
      var button = event.target.closest("[data-insert-field]");
      if (!button) return;
      insertField(body, button.getAttribute("data-insert-field"));
    });

    // Preview, for the chosen contact or the sample.
    function previewed() {
      var variant = abTest && abTest.shownVariant();
      return variant || { label: null, text: body.value };
    }

    var requestPreview = latestOnly(function (signal) {
      var payload = { body: previewed().text, smart_encoding: smart.checked };
      if (state.contact) payload.contact_id = state.contact.id;
      return textcast.api("POST", "/api/v1/previews", payload, { signal: signal });
    });

    function refreshPreview() {
      var previewText = byId("preview-text");
      var missing = byId("preview-missing");
      var status = byId("preview-status");
      var failed = byId("preview-error");
      var shown = previewed();
      if (!shown.text.trim()) {
        previewText.textContent = "Type a text to preview it.";
        byId("preview-meta").textContent = "";
        missing.hidden = status.hidden = failed.hidden = true;
        return;
      }
      requestPreview().then(function (answer) {
        failed.hidden = true;
        previewText.textContent = answer.text;
        var who = answer.contact
          ? answer.contact.first_name || answer.contact.last_name || "this contact"
          : (answer.sample && answer.sample.first_name) || "Alex";
        byId("preview-meta").textContent = "As " + who + " would receive " +
          (shown.label ? "variant " + shown.label : "it") + ": " +
          answer.length + " characters, " + partsWord(answer.parts) + " (" + answer.encoding + ")";
        missing.hidden = answer.missing.length === 0;
        missing.textContent = answer.contact
          ? "No value and no default for " + answer.missing.join(", ") +
            ": this contact would be left out."
          : "No default for " + answer.missing.join(", ") +
            ": contacts without a value are left out.";
        var contactStatus = answer.contact && answer.contact.status;
        status.hidden = !contactStatus || contactStatus === "subscribed";
        status.textContent = "This contact is " + contactStatus + ": they are left out.";
      }, function (error) {
        if (error.superseded) return;
        if (error.status === 404 && state.contact) chooseContact(null);
        failed.textContent = problemsText(error);
        failed.hidden = false;
      });
    }

    // The contact picker.
    var search = byId("contact-search");
    var results = byId("contact-results");
    var findContacts = latestOnly(function (signal) {
      var query = encodeURIComponent(search.value.trim());
      return textcast.api("GET", "/api/v1/contacts?limit=8&search=" + query, null,
        { signal: signal });
    });

    function contactLabel(contact) {
      var name = [contact.first_name, contact.last_name].filter(Boolean).join(" ");
      return name ? name + " (" + contact.phone + ")" : contact.phone;
    }

    function chooseContact(contact) {
      state.contact = contact && { id: contact.id, label: contactLabel(contact) };
      byId("preview-contact-name").textContent = state.contact
        ? "As " + state.contact.label
        : "Sample contact: Alex Morgan";
      byId("preview-clear").hidden = !state.contact;
      results.replaceChildren();
      refreshPreview();
    }

    function showContacts() {
      if (search.value.trim().length < 2) { results.replaceChildren(); return; }
      findContacts().then(function (page) {
        results.replaceChildren();
        if (!page.items.length) {
          var none = document.createElement("li");
          none.className = "hint";
          none.textContent = "No contact matches.";
          results.appendChild(none);
        }
        page.items.forEach(function (contact) {
          var item = document.createElement("li");
          var button = document.createElement("button");
          button.type = "button";
          button.className = "secondary";
          button.textContent = contactLabel(contact);
          button.addEventListener("click", function () {
            chooseContact(contact);
            search.focus();
          });
          item.appendChild(button);
          results.appendChild(item);
        });
      }, function (error) {
        if (!error.superseded) results.replaceChildren();
      });
    }

    search.addEventListener("input", debounce(300, showContacts));
    search.addEventListener("keydown", function (event) {
      if (event.key === "Escape") results.replaceChildren();
      if (event.key === "Enter") event.preventDefault();  // not a form submit
    });
    byId("preview-clear").addEventListener("click", function () {
      chooseContact(null);
      search.focus();
    });

    // The audience summary.
    var segmentSizes = {};
    function summarise() {
      var parts = [];
      var lists = form.querySelectorAll('input[name="lists"]:checked');
      if (lists.length) {
        var members = 0;
        lists.forEach(function (box) { members += +box.getAttribute("data-members"); });
        parts.push(textcast.plural(lists.length, "list") + ", " + textcast.plural(members, "member"));
      }
      var segments = form.querySelectorAll('input[name="segments"]:checked');
      if (segments.length) {
        var known = 0;
        segments.forEach(function (box) { known += segmentSizes[box.value] || 0; });
        parts.push(textcast.plural(segments.length, "segment") + ", " +
          textcast.plural(known, "contact"));
      }
      var numbers = splitNumbers(byId("recipients").value).length;
      if (numbers) parts.push(textcast.plural(numbers, "number"));
      byId("audience-summary").textContent = parts.length
        ? "Chosen: " + parts.join("; ") +
          ". Numbers in more than one, opted out or invalid are left out: the plan counts them."
        : "Nobody chosen yet.";
    }
    form.querySelectorAll("[data-segment-size]").forEach(function (span) {
      var id = span.getAttribute("data-segment-size");
      textcast.api("GET", "/api/v1/segments/" + id + "/size").then(function (size) {
        segmentSizes[id] = size.subscribed;
        span.textContent = "(" + size.contacts + " contacts, " + size.subscribed + " subscribed)";
        summarise();
      }, function (error) {
        // 409: the segment's rules no longer pass (stored by an older version, or naming a
        // deleted list); the lists page says why and has its edit form.
        span.textContent = error.status === 409
          ? "(cannot be used until its rules are fixed under Lists and segments)" : "";
      });
    });
    form.addEventListener("change", function (event) {
      if (event.target.name === "lists" || event.target.name === "segments") summarise();
    });
    byId("recipients").addEventListener("input", debounce(300, summarise));

    // The schedule.
    function showSchedule() {
      var chosen = form.querySelector('input[name="schedule"]:checked').value;
      byId("schedule-at-fields").hidden = chosen !== "at";
      byId("schedule-local-fields").hidden = chosen !== "local";
    }
    form.querySelectorAll('input[name="schedule"]').forEach(function (radio) {
      radio.addEventListener("change", showSchedule);
    });
    showSchedule();
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var offset = isoWithOffset(new Date()).slice(-6);
    byId("time-zone").textContent = (zone ? zone + ", " : "") + "UTC" + offset;

    // Typing: count now, ask the API when the typing pauses.
    var askLater = debounce(250, refreshCount);
    var previewLater = debounce(400, refreshPreview);
    body.addEventListener("input", function () {
      showCount(estimate(body.value, counting), "estimate");
      if (state.reportFor !== body.value) {
        offenderList.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      }
      askLater();
      previewLater();
    });
    smart.addEventListener("change", function () {
      refreshPreview();
      if (state.report && state.reportFor === body.value) showOffenders(body.value, state.report);
    });

    // Saving: the draft, then its plan.
    // What the form says, as the API takes it: {payload} or, for what the browser can tell
    // already, {problem} in the shape of an API error.
    function collect() {
      function problem(field, message) {
        return {
          problem: {
            message: "1 problem in the form",
            body: { problems: [{ field: field, message: message }] },
          },
        };
      }
      var numbers = byId("recipients");
      var payload = {
        name: byId("name").value,
        body: body.value,
        recipients: splitNumbers(numbers.value),
        lists: Array.from(form.querySelectorAll('input[name="lists"]:checked'), function (box) {
          return Number(box.value);
        }),
        segments: Array.from(form.querySelectorAll('input[name="segments"]:checked'), function (box) {
          return Number(box.value);
        }),
        smart_encoding: smart.checked,
      };
      // A draft with more numbers than the editor shows keeps them unless others are pasted.
      if (numbers.hasAttribute("data-kept") && !payload.recipients.length) {
        delete payload.recipients;
      }
      var sender = byId("sender").value.trim();
      if (sender) payload.sender = sender;
      var budget = byId("budget");
      if (budget.validity.badInput) return problem("budget", "must be a number");
      if (budget.value !== "") payload.budget = Number(budget.value);
      var chosen = form.querySelector('input[name="schedule"]:checked').value;
      if (chosen === "at") {
        payload.send_at = localToIso(byId("send_at").value);
        if (!payload.send_at) return problem("send_at", "choose the date and time to start");
      } else if (chosen === "local") {
        payload.local_send_time = byId("local_send_time").value.slice(0, 5);
        if (!payload.local_send_time) return problem("local_send_time", "choose a time of day");
      }
      if (byId("expires_at").value) {
        payload.expires_at = localToIso(byId("expires_at").value);
        if (!payload.expires_at) return problem("expires_at", "not a date and time");
      }
      return { payload: payload };
    }

    // What was saved last (the draft as reopened, or nothing yet): a change sends only what
    // differs from it, and leaving with something else asks first.
    var saved = collect();

    function unsaved() {
      return JSON.stringify(collect()) !== JSON.stringify(saved) ||
        Boolean(abTest && abTest.changed());
    }

    window.addEventListener("beforeunload", function (event) {
      if (!byId("create-button") || !unsaved()) return;
      event.preventDefault();
      event.returnValue = "";  // older browsers ask only with a return value
    });

    var abTest = setUpAbTest(form, counting);
    form.addEventListener("ab:shown-text", previewLater);

    // With an A/B test: a new draft is made with its test in one go; a draft's test is
    // saved first, so that a refused test leaves the draft as it was.
    function save(payload) {
      var id = form.getAttribute("data-campaign-id");
      if (!id) {
        if (abTest && abTest.on()) return abTest.create(payload);
        return textcast.api("POST", "/api/v1/campaigns", payload);
      }
      var first = abTest && abTest.wanted() ? abTest.save(id) : Promise.resolve();
      return first.then(function () {
        var changes = changedFields(saved.payload || {}, payload);
        if (!Object.keys(changes).length) return { id: Number(id) };
        return textcast.api("PATCH", "/api/v1/campaigns/" + id, changes);
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = byId("create-button");
      if (!button) return;
      textcast.clearErrors(form);
      if (abTest) abTest.clearProblems();
      var collected = collect();
      if (collected.problem) { textcast.showErrors(form, collected.problem); return; }
      button.disabled = true;
      save(collected.payload).then(function (campaign) {
        saved = collected;
        if (abTest) abTest.markSaved();
        form.setAttribute("data-campaign-id", campaign.id);
        // Back from the plan reopens this draft, and saving it again changes it.
        window.history.replaceState(null, "", "/campaigns/" + campaign.id + "/edit");
        window.location.assign("/campaigns/" + campaign.id + "/plan");
      }, function (error) {
        button.disabled = false;
        var problems = (error.body && error.body.problems) || [];
        var ours = problems.some(function (p) { return /^(test\.|variants)/.test(p.field); });
        if (abTest && ours) abTest.showProblems(error);
        else textcast.showErrors(form, error);
      });
    });

    // Back from the plan may show this very page again, as it was left.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted && byId("create-button")) byId("create-button").disabled = false;
    });

    summarise();
    if (body.value) {
      showCount(estimate(body.value, counting), "estimate");
      refreshCount();
      refreshPreview();
    }
  }

  // --- The plan page ---

  function sendFailure(error) {
    if (error.status === 429) {
      return "Not sent: the sending quota is reached. " + error.message +
        ". It frees up as earlier sends leave the 24-hour window.";
    }
    if (error.status === 409) return "Not sent: " + error.message + ".";
    if (error.status === 403) return "Not sent: " + error.message + ".";
    return "Not sent: " + (error.message || "something went wrong") + ".";
  }

  function setUpPlan() {
    var send = byId("send-button");
    if (send) {
      send.addEventListener("click", function () {
        if (!window.confirm(send.getAttribute("data-confirm"))) return;
        var failure = byId("send-error");
        var progress = byId("send-progress");
        failure.hidden = true;
        send.disabled = true;
        progress.textContent = "Sending…";
        progress.hidden = false;
        textcast.api("POST", send.getAttribute("data-send")).then(function (campaign) {
          window.location.assign("/campaigns/" + campaign.id);
        }, function (error) {
          send.disabled = false;
          progress.hidden = true;
          failure.textContent = sendFailure(error);
          failure.hidden = false;
          failure.focus();
        });
      });
    }
    var testForm = byId("test-form");
    if (testForm) {
      testForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var button = byId("test-button");
        var result = byId("test-result");
        var phone = byId("test-phone").value.trim();
        textcast.clearErrors(testForm);
        result.hidden = true;
        button.disabled = true;
        textcast.api("POST", testForm.getAttribute("data-test"), { phone: phone }).then(function () {
          button.disabled = false;
          result.textContent = "Test sent to " + phone + ".";
          result.hidden = false;
        }, function (error) {
          button.disabled = false;
          textcast.showErrors(testForm, error);
        });
      });
    }
    var budgetForm = byId("budget-form");
    if (budgetForm) {
      budgetForm.addEventListener("submit", function (event) {
        event.preventDefault();
        textcast.clearErrors(budgetForm);
        var budget = Number(byId("new-budget").value);
        textcast.api("PUT", budgetForm.getAttribute("data-budget"), { budget: budget })
          .then(function () { window.location.reload(); }, function (error) {
            textcast.showErrors(budgetForm, error);
          });
      });
    }
  }

  var form = byId("campaign-form");
  if (form) setUpEditor(form);
  if (byId("plan")) setUpPlan();
})(typeof window !== "undefined" ? window : globalThis);
