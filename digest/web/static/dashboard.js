// The dashboard's charts, drawn from the JSON blocks the page carries (the same
// numbers as the tables under them, which work without scripts): delivery outcomes
// per day, readers per day, and complaint and bounce rates against their limits.
(function () {
  "use strict";
  if (typeof Chart === "undefined") {
    return;
  }
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  if (dark) {
    Chart.defaults.color = "#e4e4e7";
    Chart.defaults.borderColor = "#3f3f46";
  }
  var reduced =
    window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function data(id) {
    var block = document.getElementById(id);
    return block ? JSON.parse(block.textContent) : null;
  }

  function options(canvas, extra) {
    var base = {
      responsive: true,
      maintainAspectRatio: false,
      animation: reduced ? false : { duration: 300 },
      interaction: { mode: "index", intersect: false },
      plugins: {
        title: { display: true, text: canvas.getAttribute("aria-label") },
        legend: { position: "bottom" },
      },
    };
    return Object.assign(base, extra);
  }

  // Okabe–Ito colours: told apart with the common colour-vision deficiencies.
  var outcomes = data("outcomes-data");
  var outcomesCanvas = document.getElementById("outcomes-chart");
  if (outcomes && outcomesCanvas) {
    var series = [
      ["sent", "Sent", "#009E73"],
      ["deferred", "Deferred", "#E69F00"],
      ["failed", "Failed", "#D55E00"],
      ["bounced", "Bounced", "#CC79A7"],
      ["skipped", "Skipped (nothing to send)", "#8C8C8C"],
    ];
    new Chart(outcomesCanvas, {
      type: "bar",
      data: {
        labels: outcomes.map(function (d) { return d.day; }),
        datasets: series.map(function (s) {
          return {
            label: s[1],
            data: outcomes.map(function (d) { return d[s[0]]; }),
            backgroundColor: s[2],
            stack: "outcomes",
          };
        }),
      },
      options: options(outcomesCanvas, {
        scales: {
          x: { stacked: true, ticks: { maxRotation: 60, autoSkip: true } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
      }),
    });
  }

  var growth = data("growth-data");
  var growthCanvas = document.getElementById("growth-chart");
  if (growth && growthCanvas) {
    var kinds = [
      ["new", "New", "#56B4E9"],
      ["confirmed", "Confirmed", "#009E73"],
      ["left", "Left", "#D55E00"],
    ];
    new Chart(growthCanvas, {
      type: "bar",
      data: {
        labels: growth.map(function (d) { return d.day; }),
        datasets: kinds.map(function (k) {
          return {
            label: k[1],
            data: growth.map(function (d) { return d[k[0]]; }),
            backgroundColor: k[2],
          };
        }),
      },
      options: options(growthCanvas, {
        scales: {
          x: { ticks: { maxRotation: 60, autoSkip: true } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
      }),
    });
  }

  var rates = data("rates-data");
  var ratesCanvas = document.getElementById("rates-chart");
  if (rates && ratesCanvas) {
    var days = rates.days;
    var percent = function (r) { return r === null ? null : r * 100; };
    var flat = function (value) { return days.map(function () { return value * 100; }); };
    new Chart(ratesCanvas, {
      type: "line",
      data: {
        labels: days.map(function (d) { return d.day; }),
        datasets: [
          {
            label: "Complaint rate",
            data: days.map(function (d) { return percent(d.complaint_rate); }),
            borderColor: "#D55E00",
            backgroundColor: "#D55E00",
            spanGaps: true,
          },
          {
            label: "Bounce rate",
            data: days.map(function (d) { return percent(d.bounce_rate); }),
            borderColor: "#0072B2",
            backgroundColor: "#0072B2",
            spanGaps: true,
          },
          {
            label: "Gmail's complaint limit (" + (rates.limits.complaint_limit * 100) + " %)",
            data: flat(rates.limits.complaint_limit),
            borderColor: "#D55E00",
            borderDash: [6, 4],
            pointRadius: 0,
          },
          {
            label: "Advised bounce ceiling (" + (rates.limits.bounce_limit * 100) + " %)",
            data: flat(rates.limits.bounce_limit),
            borderColor: "#0072B2",
            borderDash: [6, 4],
            pointRadius: 0,
          },
        ],
      },
      options: options(ratesCanvas, {
        scales: {
          x: { ticks: { maxRotation: 60, autoSkip: true } },
          y: {
            beginAtZero: true,
            title: { display: true, text: "% of digests sent that day" },
          },
        },
      }),
    });
  }
})();
