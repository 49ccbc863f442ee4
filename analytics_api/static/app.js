// The fleet dashboard: plain JavaScript, no build, no third-party code. Every number comes
// from the analytics API with the analyst token kept in sessionStorage for this tab.
"use strict";

(function () {
  const TOKEN_KEY = "analyticsToken";
  const REFRESH_MS = 15000;
  const PAGE_SIZE = 25;
  const SVG = "http://www.w3.org/2000/svg";

  const state = { sort: "vehicleId", offset: 0, total: 0, vehicle: null, timer: null, busy: false };
  const $ = (id) => document.getElementById(id);
  const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

  // The token: taken from the fragment (#token=...) once, then removed from the address bar.
  function takeFragmentToken() {
    const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    const token = params.get("token");
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
      params.delete("token");
      const rest = params.toString();
      const url = window.location.pathname + window.location.search + (rest ? "#" + rest : "");
      history.replaceState(null, "", url);
    }
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path) {
    const response = await fetch(path, {
      headers: { Authorization: "Bearer " + token(), Accept: "application/json" },
      cache: "no-store",
    });
    if (!response.ok) {
      let message = response.status + " " + response.statusText;
      try {
        const body = await response.json();
        if (body && body.message) message = body.message;
      } catch (_) {
        // not JSON: keep the status line
      }
      throw new ApiError(response.status, message);
    }
    return response.json();
  }

  // Formatting: plain, locale-free numbers so that what is shown is what the API said.
  const kwh = (x) => Number(x).toFixed(1) + " kWh";
  const ratio = (x) => (x === null || x === undefined ? "–" : Number(x).toFixed(3));
  const percent = (x) => Number(x).toFixed(1) + " %";

  function ago(seconds) {
    if (seconds < 90) return Math.round(seconds) + " s ago";
    if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
    if (seconds < 172800) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " days ago";
  }

  function text(el, value) {
    el.textContent = value;
    return el;
  }

  function make(tag, attrs, content) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    if (content !== undefined) el.textContent = content;
    return el;
  }

  function showError(message) {
    const el = $("error");
    el.hidden = !message;
    el.textContent = message || "";
  }

  function tile(name, value, detail, raw, unit) {
    const v = byTestId(`tile-${name}-value`);
    v.textContent = value;
    if (unit) v.appendChild(make("span", { class: "unit" }, " " + unit));
    v.setAttribute("data-value", String(raw));
    byTestId(`tile-${name}-detail`).textContent = detail || "";
  }

  function renderTiles(summary, energy) {
    const v = summary.vehicles;
    const m = summary.meters;
    tile("vehicles", String(v.total), `${v.reporting} reporting, ${v.stale} stale`, v.total);
    tile("meters", String(m.total), `${m.reporting} reporting, ${m.stale} stale`, m.total);
    const soc = v.meanSoc === null ? "" : `mean SoC ${percent(v.meanSoc)}`;
    tile("charging", String(v.charging), soc, v.charging);
    const minutes = Math.round(summary.offlineAfterSeconds / 60);
    tile("offline", String(v.offline), `vehicles silent > ${minutes} min; ${m.offline} meters`, v.offline);
    tile(
      "low-efficiency",
      String(energy.lowEfficiencyVehicles),
      `of ${energy.ratedVehicles} rated, below ${energy.lowEfficiencyThreshold}`,
      energy.lowEfficiencyVehicles,
    );
    tile("energy-ac", Number(energy.totalKwhConsumedAc).toFixed(1), "by mapped meters", energy.totalKwhConsumedAc, "kWh");
    tile(
      "energy-dc",
      Number(energy.totalKwhDeliveredDc).toFixed(1),
      `efficiency ${ratio(energy.efficiencyRatio)}`,
      energy.totalKwhDeliveredDc,
      "kWh",
    );
  }

  function renderTable(list) {
    state.total = list.total;
    const body = byTestId("vehicle-rows");
    const rows = list.vehicles.map((v) => {
      const tr = make("tr", { "data-testid": "vehicle-row", "data-vehicle-id": v.vehicleId });
      if (v.vehicleId === state.vehicle) tr.classList.add("selected");
      const idCell = make("td");
      const open = make("button", { type: "button", class: "link", "data-testid": "open-vehicle" }, v.vehicleId);
      open.addEventListener("click", () => selectVehicle(v.vehicleId));
      idCell.appendChild(open);
      tr.appendChild(idCell);
      tr.appendChild(make("td", { "data-testid": "cell-status" })).appendChild(
        make("span", { class: "badge " + v.status }, v.status),
      );
      tr.appendChild(make("td", { "data-testid": "cell-soc", "data-value": String(v.soc), class: "num" }, percent(v.soc)));
      tr.appendChild(make("td", { "data-testid": "cell-last-seen", title: v.lastSeen }, ago(v.secondsSilent)));
      const eff = make("td", { "data-testid": "cell-efficiency", class: "num" }, ratio(v.efficiencyRatio));
      if (v.lowEfficiency) eff.appendChild(make("span", { class: "badge low", "data-testid": "low-flag" }, "low"));
      tr.appendChild(eff);
      const off = make("td", { "data-testid": "cell-offline" });
      if (v.offline) off.appendChild(make("span", { class: "badge offline", "data-testid": "offline-flag" }, "offline"));
      else off.textContent = "–";
      tr.appendChild(off);
      return tr;
    });
    body.replaceChildren(...rows);
    if (rows.length === 0) {
      const tr = make("tr");
      tr.appendChild(make("td", { colspan: "6", class: "empty" }, "No vehicles reported yet."));
      body.appendChild(tr);
    }
    const first = list.total === 0 ? 0 : state.offset + 1;
    const last = state.offset + list.vehicles.length;
    text($("page-info"), `${first}–${last} of ${list.total}`);
    $("page-prev").disabled = state.offset === 0;
    $("page-next").disabled = last >= list.total;
    for (const th of document.querySelectorAll("th[data-sort]")) {
      const key = th.getAttribute("data-sort");
      const sort = state.sort.replace(/^-/, "");
      th.setAttribute("aria-sort", key !== sort ? "none" : state.sort.startsWith("-") ? "descending" : "ascending");
    }
  }

  function fact(dl, label, value, testId) {
    const group = dl.appendChild(make("div"));
    group.appendChild(make("dt", {}, label));
    group.appendChild(make("dd", { "data-testid": testId }, value));
  }

  function svg(tag, attrs) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  }

  // The 24 h chart: AC and DC kWh per hour (left axis), SoC in % (right axis), inline SVG.
  function renderChart(series) {
    const W = 760, H = 290, L = 52, R = 48, T = 28, B = 36;
    const points = series.points;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", "data-testid": "chart-svg" });
    const n = Math.max(points.length, 1);
    const x = (i) => L + ((W - L - R) * (i + 0.5)) / n;
    let top = 0;
    for (const p of points) top = Math.max(top, Number(p.kwhConsumedAc), Number(p.kwhDeliveredDc));
    top = top > 0 ? niceCeil(top) : 1;
    const yE = (v) => T + (H - T - B) * (1 - Number(v) / top);
    const yS = (v) => T + (H - T - B) * (1 - Number(v) / 100);
    for (let k = 0; k <= 4; k++) {
      const y = T + ((H - T - B) * k) / 4;
      root.appendChild(svg("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
      root.appendChild(svg("text", { x: L - 6, y: y + 4, class: "axis left" })).textContent = ((top * (4 - k)) / 4).toFixed(1);
      root.appendChild(svg("text", { x: W - R + 6, y: y + 4, class: "axis right" })).textContent = String(25 * (4 - k));
    }
    root.appendChild(svg("text", { x: 4, y: T - 14, class: "axis unit" })).textContent = "kWh";
    root.appendChild(svg("text", { x: W - R - 20, y: T - 14, class: "axis unit" })).textContent = "SoC %";
    points.forEach((p, i) => {
      if (i % 6 === 0) {
        const label = p.ts.slice(11, 16) + "Z";
        root.appendChild(svg("text", { x: x(i), y: H - B + 18, class: "axis bottom" })).textContent = label;
      }
    });
    const line = (values, y) => {
      let d = "";
      values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        d += (d === "" || values[i - 1] === null || values[i - 1] === undefined ? "M" : "L") + x(i).toFixed(1) + " " + y(v).toFixed(1) + " ";
      });
      return d.trim();
    };
    root.appendChild(svg("path", { d: line(points.map((p) => p.kwhConsumedAc), yE), class: "ac", "data-testid": "chart-ac" }));
    root.appendChild(svg("path", { d: line(points.map((p) => p.kwhDeliveredDc), yE), class: "dc", "data-testid": "chart-dc" }));
    root.appendChild(svg("path", { d: line(points.map((p) => p.socMax), yS), class: "soc", "data-testid": "chart-soc" }));
    $("vehicle-chart").replaceChildren(root);
  }

  function niceCeil(v) {
    const step = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= v) return m * step;
    return 10 * step;
  }

  async function renderVehicle() {
    const id = state.vehicle;
    if (id === null) return;
    const enc = encodeURIComponent(id);
    const [status, perf, series] = await Promise.all([
      api(`/v1/vehicles/${enc}/status`),
      api(`/v1/analytics/performance/${enc}`),
      api(`/v1/vehicles/${enc}/energy`),
    ]);
    if (state.vehicle !== id) return;  // another vehicle was chosen meanwhile
    text($("vehicle-title"), `Vehicle ${id}`);
    const dl = $("vehicle-facts");
    dl.replaceChildren();
    fact(dl, "SoC", percent(status.soc), "fact-soc");
    fact(dl, "Battery", Number(status.batteryTemp).toFixed(1) + " °C", "fact-battery");
    fact(dl, "Last seen", ago(status.ageSeconds), "fact-last-seen");
    fact(dl, "AC consumed (24 h)", kwh(perf.totalKwhConsumedAc), "fact-ac");
    fact(dl, "DC delivered (24 h)", kwh(perf.totalKwhDeliveredDc), "fact-dc");
    fact(dl, "Efficiency", ratio(perf.efficiencyRatio) + (perf.lowEfficiency ? " (low)" : ""), "fact-efficiency");
    fact(dl, "Meters", perf.meterIds.join(", ") || "none mapped", "fact-meters");
    renderChart(series);
    $("vehicle-view").hidden = false;
  }

  async function refresh() {
    if (state.busy || !token()) return;
    state.busy = true;
    try {
      const query = `sort=${encodeURIComponent(state.sort)}&limit=${PAGE_SIZE}&offset=${state.offset}`;
      const [summary, energy, list] = await Promise.all([
        api("/v1/fleet/summary"),
        api("/v1/fleet/energy"),
        api(`/v1/vehicles?${query}`),
      ]);
      renderTiles(summary, energy);
      renderTable(list);
      await renderVehicle();
      $("main").hidden = false;
      showError("");
      text(byTestId("updated"), `Updated ${summary.asOf.replace("T", " ").slice(0, 19)} UTC; refreshes every ${REFRESH_MS / 1000} s`);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        sessionStorage.removeItem(TOKEN_KEY);
        askToken(`The token was refused: ${err.message}`);
      } else {
        showError(`Could not refresh: ${err.message}`);
      }
    } finally {
      state.busy = false;
    }
  }

  function selectVehicle(id) {
    state.vehicle = id;
    for (const tr of document.querySelectorAll('[data-testid="vehicle-row"]')) {
      tr.classList.toggle("selected", tr.getAttribute("data-vehicle-id") === id);
    }
    renderVehicle()
      .then(() => $("vehicle-view").scrollIntoView({ block: "nearest" }))
      .catch((err) => showError(`Could not load vehicle ${id}: ${err.message}`));
  }

  function askToken(message) {
    $("main").hidden = true;
    $("refresh").hidden = true;
    $("forget-token").hidden = true;
    $("token-form").hidden = false;
    showError(message || "");
    $("token-input").focus();
  }

  function start() {
    $("token-form").hidden = true;
    $("refresh").hidden = false;
    $("forget-token").hidden = false;
    refresh();
    if (state.timer === null) state.timer = setInterval(refresh, REFRESH_MS);
  }

  function wire() {
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("token-input").value.trim();
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      $("token-input").value = "";
      start();
    });
    $("refresh").addEventListener("click", refresh);
    $("forget-token").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      askToken("");
    });
    for (const th of document.querySelectorAll("th[data-sort]")) {
      th.querySelector("button").addEventListener("click", () => {
        const key = th.getAttribute("data-sort");
        state.sort = state.sort === key ? "-" + key : key;
        state.offset = 0;
        refresh();
      });
    }
    $("page-prev").addEventListener("click", () => {
      state.offset = Math.max(0, state.offset - PAGE_SIZE);
      refresh();
    });
    $("page-next").addEventListener("click", () => {
      if (state.offset + PAGE_SIZE < state.total) state.offset += PAGE_SIZE;
      refresh();
    });
    $("vehicle-close").addEventListener("click", () => {
      state.vehicle = null;
      $("vehicle-view").hidden = true;
      for (const tr of document.querySelectorAll("tr.selected")) tr.classList.remove("selected");
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    takeFragmentToken();
    wire();
    if (token()) start();
    else askToken("");
  });
})();
