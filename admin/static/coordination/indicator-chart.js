// Target vs actual over time on the indicator page. The data come from a JSON block
// rendered by the server (no inline script: the Content-Security-Policy allows none).
(function () {
  "use strict";
  var source = document.getElementById("indicator-chart-data");
  var canvas = document.getElementById("indicator-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var suffix = data.unit ? " (" + data.unit + ")" : "";
  var label = data.cumulative ? " to date" : "";
  new Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        {
          label: "Target" + label + suffix,
          data: data.target,
          borderColor: "#6c757d",
          borderDash: [4, 4],
          pointRadius: 2,
          spanGaps: true
        },
        {
          label: "Actual" + label + suffix + ", approved",
          data: data.actual,
          borderColor: "#1565c0",
          backgroundColor: "#1565c0",
          pointRadius: 3,
          spanGaps: false
        }
      ]
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true } },
      plugins: { legend: { position: "bottom" } }
    }
  });
  canvas.setAttribute("data-rendered", "true");
})();
