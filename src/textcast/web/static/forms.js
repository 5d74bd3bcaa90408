// The sign-up form editor (form_editor.html): fields added and removed, default texts put back,
// a live preview of the hosted page at phone and desktop width (POST /api/v1/forms/preview,
// debounced, the previous request aborted; "Preview unavailable" when it fails), saving through
// POST or PATCH /api/v1/forms, and "Copy" buttons for the embed codes.
"use strict";
(function () {
  var form = document.getElementById("form-editor");
  if (!form) return;
  var formId = form.getAttribute("data-form-id");
  var defaults = JSON.parse(form.getAttribute("data-default-texts"));
  var fieldList = document.getElementById("form-field-list");
  var fieldTemplate = document.getElementById("form-field-template");
  var addField = document.getElementById("form-field-add");
  var previewStatus = document.getElementById("form-preview-status");
  var frames = [
    document.getElementById("form-preview-phone"),
    document.getElementById("form-preview-desktop"),
  ];
  var saved = document.getElementById("form-saved");

  function value(name) {
    var input = form.elements.namedItem(name);
    return input ? input.value : "";
  }

  function lines(text, separator) {
    return text.split(separator).map(function (part) { return part.trim(); })
      .filter(function (part) { return part.length > 0; });
  }

  function fields() {
    var specs = [];
    fieldList.querySelectorAll(".form-field-row").forEach(function (row) {
      var name = row.querySelector(".form-field-name").value.trim();
      if (!name) return;
      var spec = { name: name, required: row.querySelector(".form-field-required").checked };
      var label = row.querySelector(".form-field-label").value.trim();
      if (label) spec.label = label;
      specs.push(spec);
    });
    return specs;
  }

  // The whole form as the API takes it (PATCH too: only what differs is changed).
  function body() {
    var perHour = value("confirmations_per_hour").trim();
    return {
      title: value("title"),
      description: value("description").trim() || null,
      name: value("name").trim() || null,
      list_id: parseInt(value("list_id"), 10) || 0,
      slug: value("slug").trim(),
      language: value("language"),
      fields: fields(),
      disclosure: value("disclosure"),
      double_opt_in: form.elements.namedItem("double_opt_in").checked,
      confirmation_text: value("confirmation_text").trim() || null,
      welcome_text: value("welcome_text").trim() || "",
      allowed_countries: lines(value("allowed_countries"), /[,\s]+/),
      allowed_origins: lines(value("allowed_origins"), /\s+/),
      redirect_url: value("redirect_url").trim() || null,
      thank_you_text: value("thank_you_text").trim() || null,
      confirmations_per_hour: perHour === "" ? 0 : Number(perHour),
    };
  }

  // -- preview ------------------------------------------------------------------------------
  var timer = null;
  var pending = null;

  var edits = form.getAttribute("data-edits") === "true";
  var pagePreview = form.getAttribute("data-page-preview");

  // The page with the values being edited; for someone who cannot edit, the saved page itself
  // (`?preview=1` counts no view), read as text so that it shows whatever sites may frame it.
  function previewPage(signal) {
    if (!edits && pagePreview) {
      return fetch(pagePreview, { credentials: "same-origin", headers: { Accept: "text/html" },
        signal: signal }).then(function (response) {
        if (!response.ok) throw new Error(response.statusText);
        return response.text();
      });
    }
    var all = body();
    var asked = {
      title: all.title, description: all.description, fields: all.fields,
      disclosure: all.disclosure, language: all.language, double_opt_in: all.double_opt_in,
    };
    return window.textcast.api("POST", "/api/v1/forms/preview", asked,
      signal ? { signal: signal } : undefined);
  }

  function preview() {
    timer = null;
    if (pending) pending.abort();
    pending = window.AbortController ? new AbortController() : null;
    previewPage(pending ? pending.signal : undefined)
      .then(function (html) {
        if (typeof html !== "string") throw new Error("not a page");
        frames.forEach(function (frame) { if (frame) frame.srcdoc = html; });
        previewStatus.textContent = "The page as people see it, at phone and desktop width.";
        previewStatus.classList.remove("error");
      }, function (error) {
        if (error && error.name === "AbortError") return;
        previewStatus.textContent = "Preview unavailable" +
          (error && error.status === 400 && error.message ? ": " + error.message : ".");
        previewStatus.classList.add("error");
      });
  }

  function schedulePreview() {
    if (timer !== null) window.clearTimeout(timer);
    timer = window.setTimeout(preview, 400);
  }

  form.addEventListener("input", schedulePreview);
  form.addEventListener("change", schedulePreview);

  // -- fields -------------------------------------------------------------------------------
  if (addField) {
    addField.addEventListener("click", function () {
      var row = fieldTemplate.content.firstElementChild.cloneNode(true);
      fieldList.appendChild(row);
      row.querySelector(".form-field-name").focus();
      schedulePreview();
    });
  }
  fieldList.addEventListener("click", function (event) {
    var remove = event.target.closest(".form-field-remove");
    if (!remove || remove.disabled) return;
    remove.closest(".form-field-row").remove();
    if (addField) addField.focus();
    schedulePreview();
  });

  // -- default texts ------------------------------------------------------------------------
  form.addEventListener("click", function (event) {
    var button = event.target.closest(".form-default");
    if (!button) return;
    var texts = defaults[value("language")] || defaults.en;
    var name = button.getAttribute("data-default");
    form.elements.namedItem(name).value = texts[name];
    schedulePreview();
  });

  // -- save ---------------------------------------------------------------------------------
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var save = document.getElementById("form-save");
    if (!save) return;
    window.textcast.clearErrors(form);
    if (saved) saved.hidden = true;
    save.disabled = true;
    var request = formId
      ? window.textcast.api("PATCH", "/api/v1/forms/" + formId, body())
      : window.textcast.api("POST", "/api/v1/forms", body());
    request.then(function (result) {
      save.disabled = false;
      if (!formId) {
        window.location.assign("/forms/" + result.id);
        return;
      }
      window.location.reload();
    }, function (error) {
      save.disabled = false;
      window.textcast.showErrors(form, error);
    });
  });

  // -- copy the embed code ------------------------------------------------------------------
  var copyStatus = document.getElementById("copy-status");
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    var text = source.value;
    function done() { copyStatus.textContent = "Copied: paste it into your site's page."; }
    function byHand() {
      source.focus();
      source.select();
      try {
        if (document.execCommand("copy")) { done(); return; }
      } catch (e) { /* fall through */ }
      copyStatus.textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, byHand);
    } else {
      byHand();
    }
  });

  preview();
})();
