/* The overview's live tile: read the last minutes' KPIs from the REST API (the session's cookie signs the request)
   every few seconds, show the totals and a bar per minute (views). A reading that fails keeps the last numbers and
   says so; the next one tries again. Each reading shown is counted on the section (data-readings), which tests
   wait on. */
(function () {
  "use strict";

  var section = document.querySelector("[data-testid=live]");
  if (!section) { return; }
  var api = section.dataset.api;
  var pollMs = Number(section.dataset.pollMs) || 2000;
  var status = section.querySelector("[data-testid=live-status]");
  var chart = section.querySelector("[data-testid=live-minutes]");
  var readings = 0;
  var SVG = "http://www.w3.org/2000/svg";

  function formatted(name, value) {
    var number = Number(value) || 0;
    return name === "revenue"
      ? number.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })
      : number.toLocaleString("en-US");
  }

  function drawMinutes(minutes) {
    while (chart.firstChild) { chart.removeChild(chart.firstChild); }
    var most = Math.max.apply(null, minutes.map(function (m) { return m.views; }).concat([1]));
    chart.setAttribute("viewBox", "0 0 " + minutes.length * 10 + " 100");
    minutes.forEach(function (minute, i) {
      var bar = document.createElementNS(SVG, "rect");
      var height = 100 * minute.views / most;
      bar.setAttribute("x", String(i * 10 + 1));
      bar.setAttribute("width", "8");
      bar.setAttribute("y", String(100 - height));
      bar.setAttribute("height", String(height));
      var title = document.createElementNS(SVG, "title");
      title.textContent = minute.minute.slice(11, 16) + " UTC: " + minute.views + " views, " + minute.sessions +
        " sessions";
      bar.appendChild(title);
      chart.appendChild(bar);
    });
  }

  function show(data) {
    section.querySelectorAll("[data-kpi]").forEach(function (node) {
      node.textContent = formatted(node.dataset.kpi, data.totals[node.dataset.kpi]);
    });
    drawMinutes(data.per_minute);
    readings += 1;
    section.dataset.state = "ok";
    section.dataset.readings = String(readings);
    status.textContent = "Updated " + data.now.slice(11, 19) + " UTC (events from " + data.start.slice(11, 16) +
      " to now).";
  }

  function fail(message) {
    section.dataset.state = "error";
    status.textContent = "Could not read the live numbers (" + message + "); trying again.";
  }

  function poll() {
    fetch(api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(show, function (error) { fail(error.message); })
      .then(function () { window.setTimeout(poll, pollMs); });
  }

  poll();
}());
