// ringgate's Remote Management Console. Everything it shows comes from the gateway's JSON
// API (the same command catalogue as ringgatectl); everything it changes goes through
// POST /api/command, where the gateway checks the user's role. Rates are deltas this page
// keeps between polls, so reading never changes the gateway.
"use strict";

const state = {
  user: null, role: null, interval: 1000, timer: null,
  status: null, members: null, vips: null, stats: null,
  last: null,            // previous poll's counters, for rates
  history: [],           // VIP bytes/s, newest last
};
const PERSISTENCE = { 0: "0 movable", 1: "1 sticky (current)", 3: "3 sticky (preferred)" };

const $ = (selector, root = document) => root.querySelector(selector);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
};

// ---------- the API ----------
async function api(path, body) {
  const options = body === undefined ? {} :
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const text = await response.text();
  let data = null;
  try { data = JSON.parse(text); } catch { data = { error: text }; }
  if (response.status === 401 && path !== "/api/login") showLogin("Your session ended: log in again.");
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

const command = (name, ...args) => api("/api/command", { command: name, args: args.map(String), format: "json" });

function setStatus(text, isError = false) {
  const status = $("#status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

async function change(name, ...args) {
  try {
    const answer = await command(name, ...args);
    setStatus(`accepted: ${answer.accepted || JSON.stringify(answer)}`);
    await poll();
  } catch (error) {
    setStatus(`${name} ${args.join(" ")}: ${error.message}`, true);
  }
}

// ---------- login ----------
function showLogin(message = "") {
  clearTimeout(state.timer);
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  $("#whoami").textContent = "";
}

async function startSession(session) {
  state.user = session.user;
  state.role = session.role;
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#whoami").textContent = `${session.user} (${session.role})`;
  for (const item of document.querySelectorAll("[data-admin]")) item.disabled = session.role !== "admin";
  $("#drag-hint").hidden = session.role !== "admin";
  await poll();
}

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const session = await api("/api/login", { user: $("#user").value, password: $("#password").value });
    $("#password").value = "";
    await startSession(session);
  } catch (error) {
    $("#login-error").textContent = error.message;
  }
});

// ---------- polling ----------
async function poll() {
  clearTimeout(state.timer);
  try {
    const [status, members, vips] = await Promise.all([api("/api/status"), api("/api/members"), api("/api/vips")]);
    let stats = null;
    try { stats = await api("/api/stats"); } catch { /* the fast path may be off */ }
    Object.assign(state, { status, members, vips, stats });
    render();
    $("#updated").textContent = `node ${status.node} · ${new Date().toLocaleTimeString()}`;
    if ($("#status").textContent === "connecting…") setStatus("connected");
  } catch (error) {
    if (!$("#app").hidden) setStatus(`cannot read the cluster: ${error.message}`, true);
  }
  if (!$("#app").hidden) state.timer = setTimeout(poll, state.interval);
}

function formatRate(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const steps = ["", "k", "M", "G"];
  let i = 0;
  while (value >= 1000 && i < steps.length - 1) { value /= 1000; i++; }
  return `${value.toFixed(value < 10 && i ? 1 : 0)} ${steps[i]}${unit}`;
}

// ---------- rendering ----------
function render() {
  const { status, members, vips } = state;
  $("#title").textContent = `ringgate — Remote Management Console — cluster ${status.cluster}`;
  $("#ring").textContent = `ring ${members.ring_id}, asked node ${members.node}` +
    (members.rotation_ms ? `, token rotation ${members.rotation_ms.toFixed(1)} ms` : "");
  if (!drag) renderMembers(members, vips);  // not under the pointer of a drag
  renderTable(vips);
  renderRates();
}

function loadOf(node, vips) {
  return vips.vips.filter((v) => v.current_host === node).reduce((sum, v) => sum + v.bytes_per_second, 0);
}

function vipChip(v) {
  const chip = el("div", { className: "vip" }, el("span", { className: "addr", textContent: v.vip }),
    el("span", { className: "sub", textContent: `persistence ${v.persistence}` +
      (v.moving_to ? ` → ${v.moving_to}` : "") }));
  chip.dataset.vip = v.vip;
  chip.title = `${v.vip}: ${v.state}, ${formatRate(v.bytes_per_second, "B/s")}`;
  if (v.preferred_host !== null && v.preferred_host === v.current_host) chip.append(el("span", { className: "pref", title: "preferred host" }));
  if (v.state === "closed") { chip.classList.add("closed"); chip.append(el("span", { className: "x", textContent: "X" })); }
  if (v.moving_to) chip.classList.add("moving");
  if (state.role !== "admin") chip.classList.add("readonly");
  chip.addEventListener("pointerdown", startDrag);
  chip.addEventListener("contextmenu", (event) => vipMenu(event, v));
  return chip;
}

function renderMembers(members, vips) {
  const box = $("#members");
  box.replaceChildren();
  const rows = [...members.members, ...members.outside.map((m) => ({ ...m, outside: true }))];
  const loads = rows.map((m) => loadOf(m.id, vips));
  const maxLoad = Math.max(1, ...loads);
  rows.forEach((m, i) => {
    const card = el("div", { className: "node" + (m.outside ? " outside" : "") });
    card.dataset.node = m.id;
    const head = el("div", { className: "node-head" }, el("span", { className: "node-name", textContent: `Node ${m.id}` }),
      el("span", { className: "badge state", textContent: m.outside ? "outside" : m.state }));
    if (members.token_holder === m.id && m.state !== "holding-token") head.append(el("span", { className: "badge token", textContent: "token" }));
    if (vips.drained.includes(m.id)) head.append(el("span", { className: "badge drained", textContent: "drained" }));
    // The seed's thermometer: bytes/s on a logarithmic scale, the figure on hover.
    const fill = el("div", { className: "loadbar-fill" });
    fill.style.height = `${loads[i] > 0 ? Math.max(4, 100 * Math.log10(1 + loads[i]) / Math.log10(1 + maxLoad)) : 0}%`;
    const bar = el("div", { className: "loadbar", title: `${formatRate(loads[i], "B/s")}` }, fill);
    const chips = el("div", { className: "chips" });
    for (const v of vips.vips.filter((row) => row.current_host === m.id)) chips.append(vipChip(v));
    card.append(head, el("div", { className: "node-body" }, bar, chips),
      el("div", { className: "load-text", textContent: `load ${formatRate(loads[i], "B/s")}` }));
    box.append(card);
  });
  const loose = $("#unassigned .chips");
  loose.replaceChildren(...vips.vips.filter((v) => v.current_host === null).map(vipChip));
  $("#unassigned").hidden = loose.children.length === 0;
}

function renderTable(vips) {
  const body = $("#vip-table tbody");
  body.replaceChildren(...vips.vips.map((v) => {
    const row = el("tr", {},
      el("td", { textContent: v.vip }),
      el("td", { className: "current", textContent: v.current_host ?? "–" }),
      el("td", { className: "preferred", textContent: v.preferred_host ?? "–" }),
      el("td", { textContent: PERSISTENCE[v.persistence] ?? v.persistence }),
      el("td", { className: "state", textContent: v.state + (v.moving_to ? ` → ${v.moving_to}` : "") }),
      el("td", { textContent: formatRate(v.bytes_per_second, "B/s") }));
    row.dataset.vip = v.vip;
    return row;
  }));
}

function renderRates() {
  const now = performance.now();
  const bytes = state.vips.vips.reduce((sum, v) => sum + v.bytes_per_second, 0);
  const tokens = state.members.counters.tokens_passed ?? 0;
  const packets = state.stats ? state.stats.ports.reduce((sum, p) => sum + (p.rx_packets ?? 0), 0) : null;
  const last = state.last;
  $("#rate-bytes").textContent = formatRate(bytes, "B/s");
  $("#rate-rotation").textContent = state.members.rotation_ms ? `${state.members.rotation_ms.toFixed(1)} ms` : "–";
  if (last) {
    const seconds = (now - last.at) / 1000;
    if (seconds > 0) {
      $("#rate-tokens").textContent = `${((tokens - last.tokens) / seconds).toFixed(1)} /s`;
      $("#rate-packets").textContent = packets === null || last.packets === null ? "fast path off"
        : formatRate(Math.max(0, packets - last.packets) / seconds, "pkt/s");
    }
  }
  state.last = { at: now, tokens, packets };
  state.history.push(bytes);
  if (state.history.length > 120) state.history.shift();
  drawSparkline();
}

function drawSparkline() {
  const canvas = $("#sparkline");
  canvas.width = canvas.clientWidth;  // draw at the size shown, not stretched
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const max = Math.max(1, ...state.history);
  g.strokeStyle = "#1f6feb";
  g.lineWidth = 2;
  g.beginPath();
  state.history.forEach((value, i) => {
    const x = (i / 119) * canvas.width;
    const y = canvas.height - 4 - (value / max) * (canvas.height - 8);
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
  g.fillStyle = "#5b6677";
  g.font = "12px system-ui, sans-serif";
  g.fillText(`VIP bytes/s, last 2 min (max ${formatRate(max, "B/s")})`, canvas.width - 260, 14);
}

// ---------- drag a VIP to a node (WO 00/62502 Fig 12) ----------
let drag = null;

function startDrag(event) {
  if (event.button !== 0 || state.role !== "admin") return;
  const chip = event.currentTarget;
  const rect = chip.getBoundingClientRect();
  const ghost = chip.cloneNode(true);
  ghost.classList.add("ghost");
  ghost.style.width = `${rect.width}px`;
  drag = { vip: chip.dataset.vip, from: chip.closest(".node").dataset.node, ghost, dx: event.clientX - rect.left,
    dy: event.clientY - rect.top };
  document.body.append(ghost);
  moveGhost(event);
  // On the document, not the chip: a poll may redraw the chip while it is dragged.
  document.addEventListener("pointermove", onDragMove);
  document.addEventListener("pointerup", onDragEnd);
  document.addEventListener("pointercancel", cancelDrag);
  event.preventDefault();
}

function moveGhost(event) {
  drag.ghost.style.left = `${event.clientX - drag.dx}px`;
  drag.ghost.style.top = `${event.clientY - drag.dy}px`;
}

function targetUnder(event) {
  const under = document.elementFromPoint(event.clientX, event.clientY);
  const card = under && under.closest("#members .node");
  return card && !card.classList.contains("outside") ? card : null;
}

function onDragMove(event) {
  if (!drag) return;
  moveGhost(event);
  for (const card of document.querySelectorAll(".node.drop-target")) card.classList.remove("drop-target");
  const card = targetUnder(event);
  if (card && card.dataset.node !== drag.from) card.classList.add("drop-target");
}

function cancelDrag() {
  document.removeEventListener("pointermove", onDragMove);
  document.removeEventListener("pointerup", onDragEnd);
  document.removeEventListener("pointercancel", cancelDrag);
  if (drag) drag.ghost.remove();
  for (const card of document.querySelectorAll(".node.drop-target")) card.classList.remove("drop-target");
  drag = null;
}

function onDragEnd(event) {
  if (!drag) return;
  const card = targetUnder(event);
  const { vip, from } = drag;
  cancelDrag();
  if (card && card.dataset.node !== from) change("vip", "move", vip, card.dataset.node);
}

// ---------- right-click a VIP ----------
function vipMenu(event, v) {
  event.preventDefault();
  if (state.role !== "admin") return;
  const menu = $("#context-menu");
  const node = v.current_host;
  const items = [
    node !== null && [`Prefer node ${node} (set preference)`, () => change("vip", "prefer", v.vip, node)],
    v.preferred_host !== null && ["Remove preference", () => change("vip", "unprefer", v.vip)],
    ...[0, 1, 3].filter((p) => p !== v.persistence).map((p) => [`Persistence ${PERSISTENCE[p]}`,
      () => change("vip", "persistence", v.vip, p)]),
    v.state === "closed" ? ["Open", () => change("vip", "open", v.vip)] : ["Close", () => change("vip", "close", v.vip)],
  ].filter(Boolean);
  menu.replaceChildren(...items.map(([label, run]) => {
    const button = el("button", { textContent: label });
    button.addEventListener("click", () => { menu.hidden = true; run(); });
    return button;
  }));
  menu.style.left = `${event.clientX}px`;
  menu.style.top = `${event.clientY}px`;
  menu.hidden = false;
}
document.addEventListener("click", (event) => {
  if (!event.target.closest("#context-menu")) $("#context-menu").hidden = true;
  const title = event.target.closest(".menu-title");
  for (const menu of document.querySelectorAll(".menu")) menu.classList.toggle("open", !!title && menu.contains(title) && !menu.classList.contains("open"));
});

// ---------- the Edit menu (WO 00/62502 Fig 13) ----------
function select(name, options) {
  return el("label", { textContent: name + " " }, el("select", { name },
    ...options.map(([value, label]) => el("option", { value, textContent: label }))));
}
const vipOptions = () => state.vips.vips.map((v) => [v.vip, `${v.vip} (node ${v.current_host ?? "–"})`]);
const nodeOptions = () => state.members.members.map((m) => [m.id, `node ${m.id}`]);

function ask(title, fields, run, okLabel = "OK") {
  const dialog = $("#dialog");
  $("#dialog-title").textContent = title;
  $("#dialog-body").replaceChildren(...fields);
  $("#dialog-ok").textContent = okLabel;
  $("#dialog-ok").hidden = !run;
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue !== "ok" || !run) return;
    const values = Object.fromEntries(new FormData($("#dialog-form")));
    run(values);
  };
  dialog.showModal();
}

const actions = {
  refresh: () => poll(),
  logout: async () => { try { await api("/api/logout", {}); } catch { /* gone already */ } showLogin(); },
  "interval-1": () => { state.interval = 1000; poll(); },
  "interval-5": () => { state.interval = 5000; poll(); },
  move: () => ask("Move VIP", [select("vip", vipOptions()), select("node", nodeOptions())],
    (f) => change("vip", "move", f.vip, f.node)),
  prefer: () => ask("Set VIP preference", [select("vip", vipOptions()), select("node", nodeOptions())],
    (f) => change("vip", "prefer", f.vip, f.node)),
  unprefer: () => ask("Remove VIP preference", [select("vip", vipOptions())], (f) => change("vip", "unprefer", f.vip)),
  persistence: () => ask("Set VIP persistence", [select("vip", vipOptions()),
    select("persistence", Object.entries(PERSISTENCE))], (f) => change("vip", "persistence", f.vip, f.persistence)),
  close: () => ask("Close VIP", [select("vip", vipOptions())], (f) => change("vip", "close", f.vip)),
  open: () => ask("Open VIP", [select("vip", vipOptions())], (f) => change("vip", "open", f.vip)),
  drain: () => ask("Drain node (it gives away its VIPs)", [select("node", nodeOptions())], (f) => change("drain", f.node)),
  undrain: () => ask("Undrain node", [select("node", nodeOptions())], (f) => change("undrain", f.node)),
  "log-level": () => ask("Set log level", [el("label", { textContent: "levels " },
    el("input", { name: "spec", value: "info", required: true }))], (f) => change("log-level", f.spec)),
  password: () => ask("Set password", [el("p", { textContent:
    "Passwords are part of the cluster configuration, so every gateway checks the same ones. " +
    "Make a salted yescrypt hash with `ringgatectl passwd` on any machine, put it in " +
    "management.users[].password_hash of the configuration, and restart the gateways with it." })], null),
  about: () => ask("About", [el("p", { textContent: "ringgate Remote Management Console, served by each gateway. " +
    "Any gateway answers for the whole cluster: members and VIPs are the ring's shared view, and a change " +
    "given to one travels on the token to all." })], null),
};
for (const button of document.querySelectorAll("[data-action]"))
  button.addEventListener("click", () => { for (const m of document.querySelectorAll(".menu")) m.classList.remove("open"); actions[button.dataset.action](); });

// ---------- start ----------
api("/api/session").then(startSession).catch(() => showLogin());
