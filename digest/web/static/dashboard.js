// The dashboard's chart: delivery outcomes per day, from the JSON block the page
// carries (the same numbers as the table under it, which works without scripts).
(function () {
  "use strict";
  var source = document.getElementById("outcomes-data");
  var canvas = document.getElementById("outcomes-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  var days = JSON.parse(source.textContent);
  // Okabe–Ito colours: told apart with the common colour-vision deficiencies.
  var series = [
    ["sent", "Sent", "#009E73"],
    ["deferred", "Deferred", "#E69F00"],
    ["failed", "Failed", "#D55E00"],
    ["bounced", "Bounced", "#CC79A7"],
    ["skipped", "Skipped (nothing to send)", "#8C8C8C"],
  ];
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  if (dark) {
    Chart.defaults.color = "#e4e4e7";
    Chart.defaults.borderColor = "#3f3f46";
  }
  var reduced =
    window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: days.map(function (d) { return d.day; }),
      datasets: series.map(function (s) {
        return {
          label: s[1],
          data: days.map(function (d) { return d[s[0]]; }),
          backgroundColor: s[2],
          stack: "outcomes",
        };
      }),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: reduced ? false : { duration: 300 },
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { stacked: true, ticks: { maxRotation: 60, autoSkip: true } },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
      },
      plugins: {
        title: { display: true, text: canvas.getAttribute("aria-label") },
        legend: { position: "bottom" },
      },
    },
  });
})();
