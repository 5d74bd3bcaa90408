// CSV imports: upload the file to the API, then follow the job on its own page until it ends.
"use strict";
(function () {
  var FINISHED = { completed: true, failed: true };

  function upload(form) {
    var data = new FormData(form);
    ["list", "default_region"].forEach(function (name) {
      if (!String(data.get(name) || "").trim()) data.delete(name);
    });
    var button = document.getElementById("import-submit");
    var status = document.getElementById("import-upload-status");
    button.disabled = true;
    status.textContent = "Uploading…";
    window.textcast.clearErrors(form);
    window.textcast.api("POST", "/api/v1/imports", data).then(function (job) {
      status.textContent = "Uploaded: reading the file…";
      window.location.assign("/contacts/imports/" + job.id);
    }, function (error) {
      button.disabled = false;
      status.textContent = "";
      window.textcast.showErrors(form, error);
    });
  }

  function show(job, bar) {
    var percent = Math.floor(job.progress * 100);
    bar.value = job.progress;
    bar.textContent = percent + "%";
    document.getElementById("import-percent").textContent = String(percent);
    var status = document.getElementById("import-status");
    if (status.textContent !== job.status) {
      status.textContent = job.status;
      status.className = "status status-" + job.status;
    }
    document.querySelectorAll("#import-live [data-count]").forEach(function (node) {
      var value = job[node.getAttribute("data-count")];
      if (typeof value === "number") node.textContent = value.toLocaleString("en-US");
    });
  }

  // The page shows the summary and the rejected rows once the import has ended: reload then.
  function follow(bar) {
    var path = "/api/v1/imports/" + bar.getAttribute("data-import-id");
    window.textcast.every(750, function () {
      return window.textcast.api("GET", path).then(function (job) {
        show(job, bar);
        if (!FINISHED[job.status]) return true;
        window.location.reload();
        return false;
      });
    });
  }

  var form = document.getElementById("import-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      upload(form);
    });
  }
  var bar = document.getElementById("import-progress");
  if (bar && !FINISHED[bar.getAttribute("data-status")]) follow(bar);
})();
