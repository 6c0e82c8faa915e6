// Grafana unit ids -> readable values (the subset the generated dashboards use, plus close relatives).
"use strict";
(function () {
  function fixed(v, digits) {
    if (!isFinite(v)) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && a < 0.001) return v.toExponential(2);
    return v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : digits === undefined ? 2 : digits).replace(/\.0+$|(\.\d*?)0+$/, "$1");
  }
  function scaled(v, base, units) {
    let i = 0;
    let x = v;
    while (Math.abs(x) >= base && i < units.length - 1) { x /= base; i++; }
    return fixed(x) + " " + units[i];
  }
  function seconds(v) {
    const a = Math.abs(v);
    if (a === 0) return "0 s";
    if (a < 1e-6) return fixed(v * 1e9) + " ns";
    if (a < 1e-3) return fixed(v * 1e6) + " µs";
    if (a < 1) return fixed(v * 1e3) + " ms";
    if (a < 60) return fixed(v) + " s";
    if (a < 3600) return fixed(v / 60) + " min";
    if (a < 86400) return fixed(v / 3600) + " h";
    return fixed(v / 86400) + " d";
  }
  function format(unit, v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "—";
    switch (unit) {
      case "percentunit": return fixed(v * 100) + " %";
      case "percent": return fixed(v) + " %";
      case "s": case "dtdurations": return seconds(v);
      case "ms": case "dtdurationms": return seconds(v / 1000);
      case "µs": return seconds(v / 1e6);
      case "ns": return seconds(v / 1e9);
      case "m": return seconds(v * 60);
      case "h": return seconds(v * 3600);
      case "d": return seconds(v * 86400);
      case "bytes": return scaled(v, 1024, ["B", "KiB", "MiB", "GiB", "TiB"]);
      case "decbytes": return scaled(v, 1000, ["B", "kB", "MB", "GB", "TB"]);
      case "bits": return scaled(v, 1024, ["b", "Kib", "Mib", "Gib"]);
      case "Bps": case "binBps": return scaled(v, 1024, ["B/s", "KiB/s", "MiB/s", "GiB/s"]);
      case "bps": return scaled(v, 1000, ["b/s", "kb/s", "Mb/s", "Gb/s"]);
      case "reqps": return fixed(v) + " req/s";
      case "rps": return fixed(v) + " rd/s";
      case "wps": return fixed(v) + " wr/s";
      case "ops": return fixed(v) + " ops/s";
      case "cps": return fixed(v) + " c/s";
      case "mps": return fixed(v) + " msg/s";
      case "eps": return fixed(v) + " ev/s";
      case "reqpm": return fixed(v) + " req/min";
      case "opm": return fixed(v) + " ops/min";
      case "dateTimeAsIso": return new Date(v * 1000).toISOString();
      case "dateTimeFromNow": {
        const d = v - Date.now() / 1000;
        return (d >= 0 ? "in " : "") + seconds(Math.abs(d)) + (d < 0 ? " ago" : "");
      }
      case "none": case "short": case "": default: {
        const a = Math.abs(v);
        if (a >= 1e9) return fixed(v / 1e9) + " Bil";
        if (a >= 1e6) return fixed(v / 1e6) + " Mil";
        if (a >= 1e4) return fixed(v / 1e3) + " K";
        return fixed(v);
      }
    }
  }
  window.LookoutUnits = { format: format };
})();
