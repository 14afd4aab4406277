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
  // Phone: the menu button opens and closes the whole menu.
  var toggle = document.querySelector("[data-menu-toggle]");
  var menu = document.getElementById("menu");
  if (toggle && menu) {
    toggle.addEventListener("click", function () {
      var open = menu.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  // A message carried over a self-reload is shown again, once.
  var carried = window.sessionStorage && sessionStorage.getItem("conexapi.notice");
  if (carried) {
    sessionStorage.removeItem("conexapi.notice");
    var main = document.querySelector("main");
    if (main && !document.querySelector("[data-flash]")) {
      var c = JSON.parse(carried);
      var div = document.createElement("div");
      div.className = c.cls;
      div.setAttribute("role", c.role);
      div.setAttribute("data-flash", "");
      div.textContent = c.text;
      main.insertBefore(div, main.firstChild);
    }
  }
  // Sales: rows, counts and the backlog banner refresh from a small JSON endpoint while the
  // page is open (the words come from the server, already in Spanish).
  var list = document.querySelector("[data-progress-url]");
  if (list) {
    var rows = document.querySelectorAll("[data-sale-id]");
    var ids = [];
    rows.forEach(function (r) { ids.push(r.dataset.saleId); });
    var poll = function () {
      var url = list.dataset.progressUrl + "?ids=" + ids.join(",");
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) { setTimeout(poll, 10000); return; }
          rows.forEach(function (row) {
            var s = p.sales[row.dataset.saleId];
            if (!s) { return; }
            var badge = row.querySelector("[data-badge] .badge");
            if (badge) {
              badge.textContent = s.label;
              badge.className = "badge tone-" + s.tone;
            }
            var q = row.querySelector("[data-queue]");
            if (q) { q.textContent = s.queue; }
            var e = row.querySelector("[data-error]");
            if (e && row.dataset.state !== s.state) { e.textContent = s.error; }
            var inv = row.querySelector("[data-invoice]");
            if (inv && s.invoice && row.dataset.state !== s.state) {
              inv.textContent = s.invoice;
            }
            if (row.dataset.reload !== undefined && row.dataset.state !== s.state) {
              // The one-time message (e.g. "comprador guardado") survives the reload.
              var notice = document.querySelector("[data-flash]");
              if (notice && window.sessionStorage) {
                sessionStorage.setItem("conexapi.notice", JSON.stringify(
                  { cls: notice.className, role: notice.getAttribute("role"),
                    text: notice.textContent }));
              }
              window.location.reload();
              return;
            }
            row.dataset.state = s.state;
            if (s.state !== "needs_attention") { row.classList.remove("attention"); }
          });
          document.querySelectorAll("[data-count]").forEach(function (el) {
            el.textContent = p.counts[el.dataset.count] || "0";
          });
          var total = document.querySelector("[data-count-total]");
          if (total) { total.textContent = p.total; }
          var banner = document.querySelector("[data-backlog]");
          if (banner) {
            banner.textContent = p.banner;
            banner.hidden = !p.banner;
          }
          setTimeout(poll, p.backlog ? 3000 : 8000);
        })
        .catch(function () { setTimeout(poll, 10000); });
    };
    setTimeout(poll, 2000);
  }
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
          job.querySelector("[data-job-done]").textContent = p.done_text;
          job.querySelector("[data-job-state]").textContent = p.state_label;
          job.querySelector("[data-job-error]").textContent = p.error ? " · Problema: " + p.error : "";
          if (!p.finished) { setTimeout(tick, 1500); }
        })
        .catch(function () { setTimeout(tick, 5000); });
    };
    setTimeout(tick, 800);
  }
})();
