// The keywords page: the new keyword's form and each keyword's edit form send their fields to
// /api/v1/keywords as JSON, then reload; the API's errors show next to the fields they name.
// In the new keyword's form an empty text is left out (the default); in an edit form it is
// sent empty (an empty welcome text: none).
"use strict";
(function () {
  function collect(form) {
    var keepEmpty = form.hasAttribute("data-keep-empty");
    var body = {};
    form.querySelectorAll("input[name], textarea[name], select[name]").forEach(function (field) {
      if (field.type === "checkbox") {
        if (field.name === "no_welcome" && field.checked) body.welcome_text = null;
        return;
      }
      var value = field.value.trim();
      if (field.name === "list_id") {
        if (value !== "") body.list_id = Number(value);
      } else if (field.name === "double_opt_in") {
        body.double_opt_in = value === "true";
      } else if (value !== "" || keepEmpty) {
        if (!(field.name in body)) body[field.name] = value;
      }
    });
    return body;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-keyword-form]");
    if (!form) return;
    event.preventDefault();
    var action = form.getAttribute("data-keyword-form").split(" ");
    var button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    window.textcast.api(action[0], action[1], collect(form)).then(function () {
      window.location.reload();
    }, function (error) {
      if (button) button.disabled = false;
      window.textcast.showErrors(form, error);
    });
  });
})();
