// R16: on the first visit, the rep's time zone becomes the browser's (the server applies it once,
// never over a zone the rep chose). Then the live regions show "today" in that zone.
// Posted once a tab: the tab remembers it (sessionStorage), not the server's session, so the
// post never saves a session a request beside it is writing (a connect's OAuth state).
(function () {
  var SENT = "tasksync-zone-sent";
  var url = document.body && document.body.dataset.detectZoneUrl;
  if (!url || !window.Intl) return;
  try { if (window.sessionStorage.getItem(SENT)) return; } catch (e) { /* storage off: post */ }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  var token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  var body = new URLSearchParams({ time_zone: zone });
  fetch(url, {
    method: "POST",
    body: body,
    credentials: "same-origin",
    headers: { "X-CSRFToken": token },
  }).then(function () {
    try { window.sessionStorage.setItem(SENT, "1"); } catch (e) { /* storage off */ }
    delete document.body.dataset.detectZoneUrl;
    var select = document.getElementById("id_time_zone");
    if (select && select.value === "UTC") select.value = zone;
    // Live regions re-render at their next poll in the new zone; ask them now.
    if (window.htmx) document.querySelectorAll(".live").forEach(function (el) { htmx.trigger(el, "zone"); });
  });
})();
