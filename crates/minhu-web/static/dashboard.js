// Draws each dashboard chart from the table beside it: the table is the data and stays
// on the page as the chart's view for screen readers and keyboards, so the chart is
// hidden from assistive technology. <figure data-chart="bar|line|pie"> holds a table whose
// first column names the rows and whose other columns are series (the first
// data-series of them, when given). A figure (or a bare table) with data-source="URL"
// first fills its table from that JSON API: data-rows names the answer's list,
// data-columns the fields of each cell ("rates.score": nested; a list is shown as its
// items joined by spaces; a trailing "%" shows a percentage, as the API's rates are).
// data-sort="per_10k" orders the rows by that field, largest first (else the API's order);
// data-key="id" keeps each row's field (a region's id) on its row, for a map;
// elements with data-field="path" inside take that field of the whole answer.
// <figure data-chart="map"> colours the city's outlines (/api/v1/map) by the table's
// second column, matching the outline's region to the row's key.
// Cells are shown in the page's words (#words: its data-* attributes): true and false
// as yes and no, codes by their labels (data-code-<code>), times ("...T...Z") on the
// city's clock (data-zone), never as the API writes them.
"use strict";

(function () {
  // "places.name" of a list: each item's name.
  function pick(source, path) {
    return path.split(".").reduce(function (value, key) {
      if (value == null) return undefined;
      if (Array.isArray(value)) return value.map(function (item) { return item == null ? undefined : item[key]; });
      return value[key];
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

  function cell(value, percent) {
    if (value == null) return "—";
    if (percent && typeof value === "number") return value.toFixed(1) + "%";
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
        var key = figure.getAttribute("data-key");
        figure.querySelectorAll("[data-field]").forEach(function (el) {
          var path = el.getAttribute("data-field");
          var percent = path.slice(-1) === "%";
          el.textContent = cell(pick(answer, percent ? path.slice(0, -1) : path), percent);
        });
        var items = (pick(answer, figure.getAttribute("data-rows")) || []).slice();
        var sort = figure.getAttribute("data-sort");
        if (sort) {
          items.sort(function (a, b) { return (pick(b, sort) || 0) - (pick(a, sort) || 0); });
        }
        var rows = items.map(function (item) {
          var tr = document.createElement("tr");
          if (key) tr.setAttribute("data-key", pick(item, key));
          columns.forEach(function (path, i) {
            var td = document.createElement(i === 0 ? "th" : "td");
            if (i === 0) td.setAttribute("scope", "row");
            else td.className = "num";
            var percent = path.slice(-1) === "%";
            td.textContent = cell(pick(item, percent ? path.slice(0, -1) : path), percent);
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
    figure.insertBefore(box, table.closest(".wide") || table);
    var chart = window.echarts.init(box, null, { renderer: "canvas", locale: document.documentElement.lang === "en" ? "EN" : "ZH" });
    window.addEventListener("resize", function () { chart.resize(); });
    if (kind === "map") return drawMap(figure, chart, rows);
    var names = rows.map(function (r) { return r[0]; });
    var limit = Number(figure.getAttribute("data-series")) || heads.length;
    var series = heads.slice(1, limit + 1).map(function (head, i) {
      var values = rows.map(function (r) { return parseFloat(r[i + 1]) || 0; });
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
  }

  // A choropleth: each row's outline coloured by its value (the second column).
  function drawMap(figure, chart, rows) {
    var keys = Array.prototype.map.call(figure.querySelectorAll("tbody tr"), function (tr) {
      return tr.getAttribute("data-key");
    });
    var named = {};
    var data = rows.map(function (r, i) {
      named[keys[i]] = r[0];
      return { name: keys[i], value: parseFloat(r[1]) || 0 };
    });
    fetch("/api/v1/map", { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (layers) {
        var features = ((layers.regions || {}).features || []).filter(function (f) {
          return Object.prototype.hasOwnProperty.call(named, f.properties.region);
        });
        if (features.length === 0) {
          chart.dispose();
          return;
        }
        window.echarts.registerMap(figure.id, { type: "FeatureCollection", features: features });
        var max = Math.max.apply(null, data.map(function (d) { return d.value; }).concat([1]));
        chart.setOption({
          animation: false,
          tooltip: {
            trigger: "item",
            formatter: function (p) {
              return (named[p.name] || "") + ": " + (isNaN(p.value) ? "—" : p.value.toFixed(1));
            }
          },
          visualMap: { min: 0, max: max, left: 0, bottom: 0, calculable: true, inRange: { color: ["#e0f3f8", "#08589e"] } },
          series: [{ type: "map", map: figure.id, nameProperty: "region", roam: false, label: { show: false }, data: data }]
        });
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-source]").forEach(function (table) {
      load(table).catch(function () { table.setAttribute("aria-busy", "false"); });
    });
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
