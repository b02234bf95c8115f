// Draws each dashboard chart from the table beside it: the table is the data and stays
// on the page as the chart's view for screen readers and keyboards, so the chart is
// hidden from assistive technology. <figure data-chart="bar|line|pie"> holds a table whose
// first column names the rows and whose other columns are series (the first
// data-series of them, when given). A figure with data-source="URL" first fills its
// table from that JSON API: data-rows names the answer's list, data-columns the fields
// of each cell ("rates.score": nested; a list is shown as its items joined by spaces).
// Cells are shown in the page's words (#words: its data-* attributes): true and false
// as yes and no, codes by their labels (data-code-<code>), times ("...T...Z") on the
// city's clock (data-zone), never as the API writes them.
"use strict";

(function () {
  function pick(source, path) {
    return path.split(".").reduce(function (value, key) {
      return value == null ? undefined : value[key];
    }, source);
  }

  var words = document.getElementById("words");

  function say(name, fallback) {
    return (words && words.getAttribute(name)) || fallback;
  }

  // "2026-12-06 14:03" on the city's clock.
  function localTime(text) {
    var parts = {};
    new Intl.DateTimeFormat("en-CA", {
      timeZone: say("data-zone", "UTC"), hourCycle: "h23",
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"
    }).formatToParts(new Date(text)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
  }

  function cell(value) {
    if (value == null) return "—";
    if (Array.isArray(value)) return value.map(cell).join(" ");
    if (typeof value === "boolean") return say(value ? "data-yes" : "data-no", String(value));
    if (typeof value === "number" && !Number.isInteger(value)) return value.toFixed(1);
    var text = String(value);
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(text)) return localTime(text);
    return say("data-code-" + text, text);
  }

  function load(figure) {
    var columns = figure.getAttribute("data-columns").split(",");
    var tbody = figure.querySelector("tbody");
    return fetch(figure.getAttribute("data-source"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (answer) {
        var rows = (pick(answer, figure.getAttribute("data-rows")) || []).map(function (item) {
          var tr = document.createElement("tr");
          columns.forEach(function (path, i) {
            var td = document.createElement(i === 0 ? "th" : "td");
            if (i === 0) td.setAttribute("scope", "row");
            else td.className = "num";
            td.textContent = cell(pick(item, path));
            tr.append(td);
          });
          return tr;
        });
        tbody.replaceChildren.apply(tbody, rows);
        figure.setAttribute("aria-busy", "false");
      });
  }

  function draw(figure) {
    if (!window.echarts) return;
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
    var limit = Number(figure.getAttribute("data-series")) || heads.length;
    var series = heads.slice(1, limit + 1).map(function (head, i) {
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
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("figure[data-chart]").forEach(function (figure) {
      if (figure.hasAttribute("data-source")) {
        load(figure).then(function () { draw(figure); }, function () {
          figure.setAttribute("aria-busy", "false");
        });
      } else {
        draw(figure);
      }
    });
  });
})();
