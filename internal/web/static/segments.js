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
    scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(max * 1.15, 1)]; } } },
    axes: [
      { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, values: function (u, vals) { return vals.map(function (v) { return day.format(new Date(v * 1000)); }); } },
      { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 56, values: function (u, vals) { return vals.map(function (v) { return num.format(v); }); } }
    ],
    series: [
      { value: function (u, v) { return v == null ? "—" : full.format(new Date(v * 1000)); } },
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
