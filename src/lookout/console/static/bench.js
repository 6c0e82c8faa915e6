// Benchmark history per target: throughput, p50/p99 and errors per run, drawn with uPlot.
"use strict";
(function () {
  const runs = JSON.parse(document.getElementById("bench-json").textContent);
  const fmt = window.LookoutUnits.format;
  function plot(el, title, xs, series, unit) {
    const box = document.createElement("div");
    box.className = "panel";
    box.dataset.state = "data";
    box.innerHTML = '<h3 class="panel-title"></h3><div class="panel-body"></div>';
    box.querySelector("h3").textContent = title;
    el.appendChild(box);
    return () => draw(box.querySelector(".panel-body"), xs, series, unit);
  }
  function draw(body, xs, series, unit) {
    const colors = ["#5794f2", "#ff9830", "#f2495c"];
    new uPlot({
      width: Math.max(240, body.clientWidth - 4), height: 180,
      series: [{}].concat(series.map((s, i) => ({ label: s.label, stroke: colors[i % colors.length], width: 1.5, points: { show: true, size: 6 }, value: (u, v) => fmt(unit, v) }))),
      scales: { x: { time: true } },
      axes: [{ stroke: "#9fa7b3", grid: { stroke: "#2c3235" } }, { stroke: "#9fa7b3", grid: { stroke: "#2c3235" }, size: 70, values: (u, vals) => vals.map((v) => fmt(unit, v)) }],
    }, [xs].concat(series.map((s) => s.values)), body);
  }
  document.querySelectorAll(".bench-plots").forEach((el) => {
    const data = runs[el.dataset.target] || [];
    const xs = data.map((r) => r.t);
    // Boxes first, plots second: each plot is as wide as its box once the grid has laid all three out.
    const drawers = [
      plot(el, "Throughput", xs, [{ label: "throughput", values: data.map((r) => r.throughput) }], "reqps"),
      plot(el, "Latency", xs, [{ label: "p50", values: data.map((r) => r.p50) }, { label: "p99", values: data.map((r) => r.p99) }], "s"),
      plot(el, "Errors", xs, [{ label: "errors", values: data.map((r) => r.errors) }], "none"),
    ];
    drawers.forEach((d) => d());
  });
})();
