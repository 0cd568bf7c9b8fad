// Kizuna segment page: the size-over-time chart (uPlot, vendored). The page lists the same
// points in a table for screen readers and without JavaScript.
(function () {
  "use strict";
  var el = document.getElementById("segment-chart");
  if (!el || !window.uPlot) return;
  var points = JSON.parse(el.getAttribute("data-points") || "[]");
  if (!points.length) return;
  var xs = points.map(function (p) { return p[0]; });
  var ys = points.map(function (p) { return p[1]; });
  var css = getComputedStyle(document.documentElement);
  var primary = (css.getPropertyValue("--c-primary") || "#4338ca").trim();
  var grid = (css.getPropertyValue("--c-border") || "#e3e6ef").trim();
  var muted = (css.getPropertyValue("--c-muted") || "#5f6680").trim();
  var lang = document.documentElement.lang || "en";
  var num = new Intl.NumberFormat(lang);
  var tz = lang === "ja" ? "Asia/Tokyo" : "UTC";
  var day = new Intl.DateTimeFormat(lang, { month: "short", day: "numeric", timeZone: tz });
  var full = new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: tz });

  function size() { return { width: Math.max(el.clientWidth, 240), height: 220 }; }

  var opts = Object.assign(size(), {
    legend: { show: true },
    cursor: { points: { size: 8 } },
    // The last 90 days whatever the data, so that a young segment's first points sit at the right.
    scales: { x: { time: true, range: function () { var now = Date.now() / 1000; return [Math.min(xs[0], now - 90 * 86400), Math.max(xs[xs.length - 1], now)]; } }, y: { range: function (u, min, max) { return [0, Math.max(max * 1.15, 1)]; } } },
    axes: [
      { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, space: 72,
        values: function (u, vals) { return vals.map(function (v) { return day.format(new Date(v * 1000)); }); } },
      // Members are whole people: integer steps only.
      { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 56, space: 36,
        incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7],
        values: function (u, vals) { return vals.map(function (v) { return num.format(v); }); } }
    ],
    series: [
      { label: el.getAttribute("data-time") || "", value: function (u, v) { return v == null ? "—" : full.format(new Date(v * 1000)); } },
      { label: el.getAttribute("data-label") || "", stroke: primary, width: 2, fill: primary + "1f",
        points: { show: xs.length < 60, size: 6, fill: primary },
        value: function (u, v) { return v == null ? "—" : num.format(v); } }
    ]
  });
  var chart = new window.uPlot(opts, [xs, ys], el);
  var pending = 0;
  window.addEventListener("resize", function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () { chart.setSize(size()); });
  });
})();
