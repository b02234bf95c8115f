// Draws each dashboard chart from the table beside it: the table is the data and stays
// on the page as the chart's view for screen readers and keyboards, so the chart is
// hidden from assistive technology. <figure data-chart="bar|line|pie"> holds a table whose
// first column names the rows and whose other columns are series.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  if (!window.echarts) return;
  document.querySelectorAll("figure[data-chart]").forEach(function (figure) {
    var table = figure.querySelector("table");
    if (!table) return;
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    var rows = Array.prototype.map.call(table.querySelectorAll("tbody tr"), function (tr) {
      return Array.prototype.map.call(tr.children, function (cell) {
        return cell.textContent.trim();
      });
    });
    if (rows.length === 0) return;
    var kind = figure.getAttribute("data-chart");
    var box = document.createElement("div");
    box.className = "chart";
    box.setAttribute("aria-hidden", "true");
    figure.insertBefore(box, table);
    var chart = window.echarts.init(box, null, { renderer: "canvas", locale: document.documentElement.lang === "en" ? "EN" : "ZH" });
    var names = rows.map(function (r) { return r[0]; });
    var series = heads.slice(1).map(function (head, i) {
      var values = rows.map(function (r) { return Number(r[i + 1]) || 0; });
      if (kind === "pie") {
        return { name: head, type: "pie", radius: "65%", data: names.map(function (n, j) { return { name: n, value: values[j] }; }) };
      }
      return { name: head, type: kind, data: values };
    });
    var option = { animation: false, tooltip: {}, legend: { top: 0 }, series: series };
    if (kind !== "pie") {
      option.grid = { left: 48, right: 16, top: 36, bottom: 64 };
      option.xAxis = { type: "category", data: names, axisLabel: { rotate: names.length > 6 ? 30 : 0 } };
      option.yAxis = { type: "value" };
    }
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  });
});
