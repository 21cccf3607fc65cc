// Shows every <time data-local datetime="…UTC instant…"> in the reader's own time zone,
// with the zone named ("Friday, 15 January 2027 at 15:00 Central European Standard Time
// (Europe/Amsterdam)"). Text only: nothing here writes markup. Without scripts the page
// shows the instant in UTC, named as such.
"use strict";
document.querySelectorAll("time[data-local]").forEach(function (el) {
  var at = new Date(el.getAttribute("datetime"));
  if (isNaN(at.getTime())) {
    return;
  }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  var text = at.toLocaleString(undefined, {
    dateStyle: "full",
    timeStyle: "short",
    timeZone: zone,
  });
  var name = new Intl.DateTimeFormat(undefined, { timeZone: zone, timeZoneName: "long" })
    .formatToParts(at)
    .filter(function (p) { return p.type === "timeZoneName"; })
    .map(function (p) { return p.value; })[0];
  el.textContent = text + (name && text.indexOf(name) < 0 ? " " + name : "") + " (" + zone + ")";
  el.title = el.getAttribute("datetime") + " in UTC";
  el.setAttribute("data-zone", zone);
});
