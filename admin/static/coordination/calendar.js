// The calendar page: FullCalendar (vendored) fed by /admin/calendar/events, which
// expands recurring series for the visible range and applies the filters form.
(function () {
  "use strict";
  var element = document.getElementById("calendar");
  if (!element || !window.FullCalendar) { return; }
  var form = document.getElementById("calendar-filters");
  var zone = document.getElementById("browser-zone");
  if (zone) { zone.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || "local"; }

  function filters() {
    var params = {};
    new FormData(form).forEach(function (value, key) { if (value) { params[key] = value; } });
    return params;
  }

  var options = {
    initialView: "dayGridMonth",
    headerToolbar: { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,listMonth" },
    buttonText: { dayGridMonth: "Month", timeGridWeek: "Week", listMonth: "List", today: "Today" },
    firstDay: 1,
    height: "auto",
    nowIndicator: true,
    eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    events: { url: element.getAttribute("data-events-url"), extraParams: filters },
    eventDidMount: function (info) {
      var p = info.event.extendedProps;
      var lines = [info.event.title, p.local, p.type + " · " + p.status];
      if (p.place) { lines.push(p.place); }
      if (p.body) { lines.push(p.body); }
      if (p.moved) { lines.push("Moved from its usual date"); }
      info.el.setAttribute("title", lines.join("\n"));
      info.el.setAttribute("data-meeting-id", p.meetingId);
    },
    loading: function (busy) { element.setAttribute("aria-busy", busy ? "true" : "false"); }
  };
  var initial = element.getAttribute("data-initial-date");
  if (initial) { options.initialDate = initial; }
  var calendar = new FullCalendar.Calendar(element, options);
  calendar.render();

  var bodyDownload = document.getElementById("body-download");
  form.addEventListener("change", function () {
    var params = new URLSearchParams(filters());
    history.replaceState(null, "", "?" + params.toString());
    calendar.refetchEvents();
    if (bodyDownload) {
      var body = params.get("body");
      var template = bodyDownload.getAttribute("data-url-template");
      bodyDownload.classList.toggle("d-none", !body);
      bodyDownload.setAttribute("href", body ? template.replace(/\/0\.ics$/, "/" + body + ".ics") : "#");
    }
  });
})();
