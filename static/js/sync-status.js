// R3: while the first sync imports, show its progress without a manual reload.
(function () {
  var box = document.getElementById("sync-status");
  if (!box || box.dataset.phase !== "first_sync") return;
  var text = document.getElementById("sync-progress");
  var bar = document.getElementById("sync-progress-bar");
  var template = text ? text.dataset.template || text.textContent : "";
  function tick() {
    fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.phase !== "first_sync") { window.location.reload(); return; }
        if (text && s.progress_total) {
          text.textContent = text.textContent.replace(/\d+(\D+)\d+/, s.progress_done + "$1" + s.progress_total);
          bar.style.width = Math.round((100 * s.progress_done) / s.progress_total) + "%";
        }
        setTimeout(tick, 1000);
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 1000);
})();
