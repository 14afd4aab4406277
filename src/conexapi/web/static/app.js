// ConexAPI dashboard: the few things that need JavaScript (progress polling, double submits).
(function () {
  "use strict";
  // Disable a form's submit button once sent, so a double click cannot post twice.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.method && form.method.toLowerCase() === "post") {
      var btn = form.querySelector("button[type=submit]");
      if (btn) { setTimeout(function () { btn.disabled = true; }, 0); }
    }
  });
  // Backfill progress: poll the job's JSON endpoint until it finishes.
  var job = document.getElementById("job");
  if (job && job.dataset.jobUrl) {
    var url = job.dataset.jobUrl;
    var tick = function () {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) { return; }
          job.querySelector("[data-job-bar]").style.width = p.percent + "%";
          job.querySelector("[role=progressbar]").setAttribute("aria-valuenow", p.percent);
          job.querySelector("[data-job-percent]").textContent = p.percent;
          job.querySelector("[data-job-done]").textContent = p.done;
          job.querySelector("[data-job-state]").textContent = p.state_label;
          job.querySelector("[data-job-error]").textContent = p.error ? " · Error: " + p.error : "";
          if (!p.finished) { setTimeout(tick, 1500); }
        })
        .catch(function () { setTimeout(tick, 5000); });
    };
    setTimeout(tick, 800);
  }
})();
