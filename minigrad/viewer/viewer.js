// minigrad's graph viewer: draws the embedded graph and walks through the recorded backward pass.
// Everything it shows comes from the JSON block in this page; nothing here computes a gradient.
"use strict";

const DATA = JSON.parse(document.getElementById("graph-data").textContent);
const NODES = DATA.nodes;
const STEPS = DATA.steps;
const GROUPS = new Map(DATA.groups.map((g) => [g.id, g]));
const SVG_NS = "http://www.w3.org/2000/svg";
const NODE_W = 180, NODE_H = 72, GAP_X = 24, GAP_Y = 46;

// ------------------------------------------------------------------ what each step delivers
// received[id]: the gradients node id receives, in order: {step (1-based), entry}.
const received = NODES.map(() => []);
STEPS.forEach((step, i) => step.sent.forEach((entry) => received[entry.to].push({ step: i + 1, entry })));
const consumers = NODES.map(() => []);
NODES.forEach((n) => n.inputs.forEach((i) => consumers[i].push(n.id)));

const state = { step: 0, selected: null, expanded: new Set() };

// --------------------------------------------------------------------------- number formats
function fmt(v) {
  if (typeof v === "string") return v;  // nan, inf, -inf
  if (typeof v === "boolean") return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

function shapeText(shape) {
  return shape.length === 0 ? "scalar" : "(" + shape.join(", ") + (shape.length === 1 ? ",)" : ")");
}

// min, max, mean, std and norm of a record's finite values (embedded, or from "full").
function stats(rec) {
  if (rec.stats || !rec.full) return rec.stats;
  const v = rec.full.map(Number).filter(Number.isFinite);
  if (!v.length) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sq = v.reduce((a, b) => a + b * b, 0);
  const variance = v.reduce((a, b) => a + (b - mean) * (b - mean), 0) / v.length;
  return (rec.stats = [Math.min(...v), Math.max(...v), mean, Math.sqrt(variance), Math.sqrt(sq)]);
}

// A one-line summary of a value record, for a node's box.
function brief(rec) {
  if (!rec) return "";
  if (rec.full && rec.size <= 3) return rec.full.map(fmt).join(", ");
  if (!stats(rec)) return rec.size === 0 ? "empty" : "no finite values";
  return "\u03BC " + fmt(rec.stats[2]) + ", \u03C3 " + fmt(rec.stats[3]);
}

// The array written out with brackets, as NumPy prints it.
function nested(flat, shape) {
  if (shape.length === 0) return fmt(flat[0]);
  let pos = 0;
  const rows = (dims, indent) => {
    const n = dims[0];
    if (dims.length === 1) {
      const items = flat.slice(pos, pos + n).map(fmt);
      pos += n;
      return "[" + items.join(", ") + "]";
    }
    const parts = [];
    for (let i = 0; i < n; i++) parts.push(rows(dims.slice(1), indent + " "));
    return "[" + parts.join(",\n" + indent + " ") + "]";
  };
  return rows(shape, "");
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

// A full view of a value record: the numbers when small, else statistics and a histogram.
function describeRecord(rec, shape) {
  if (!rec) return '<span class="muted">none</span>';
  let html = "";
  if (rec.full) html += "<pre>" + escapeHtml(nested(rec.full, shape)) + "</pre>";
  if (stats(rec) && rec.size > 1) {
    const [lo, hi, mean, std, norm] = stats(rec);
    html += '<div class="muted">min ' + fmt(lo) + ", max " + fmt(hi) + ", mean " + fmt(mean) +
      ", std " + fmt(std) + ", norm " + fmt(norm) + "</div>";
  }
  if (rec.nonfinite) html += '<div class="accumulate">' + rec.nonfinite + " non-finite values</div>";
  if (rec.hist) html += histogram(rec.hist, rec.stats[0], rec.stats[1]);
  return html;
}

function histogram(counts, lo, hi) {
  const w = 340, h = 60, top = Math.max(...counts), bw = w / counts.length;
  let bars = "";
  counts.forEach((c, i) => {
    const bh = top ? (c / top) * h : 0;
    bars += '<rect x="' + (i * bw + 1) + '" y="' + (h - bh) + '" width="' + (bw - 2) + '" height="' + bh + '"><title>' + c + "</title></rect>";
  });
  return '<svg class="hist" width="' + w + '" height="' + (h + 14) + '">' + bars +
    '<text x="0" y="' + (h + 12) + '">' + fmt(lo) + '</text><text x="' + w + '" y="' + (h + 12) +
    '" text-anchor="end">' + fmt(hi) + "</text></svg>";
}

// ---------------------------------------------------------------- a node's state at a step
// The gradient a node holds once the first `step` steps have run: how many of its gradients
// have arrived, and their sum so far (the running total the page embeds).
function gradAt(id, step) {
  if (id === DATA.root) return { rec: DATA.seed, got: 1, of: 1 };
  const list = received[id].filter((r) => r.step <= step);
  if (list.length === 0) return null;
  const last = list[list.length - 1].entry;
  const rec = last.nth === last.of ? NODES[id].grad : (last.total || sentGrad(last));
  return { rec, got: last.nth, of: last.of };
}

// The gradient a step sends along one edge: embedded, or the target's whole gradient.
function sentGrad(entry) {
  return entry.grad || NODES[entry.to].grad;
}

function nodeTitle(n) {
  if (n.name && n.op !== "leaf" && n.op !== "constant") return n.name + " = " + n.op;
  return n.name || n.op;
}

function nodeCall(n) {
  if (!n.inputs.length) return nodeTitle(n);
  return "t" + n.id + " = " + n.op + "(" + n.inputs.map((i) => "t" + i).join(", ") + ")";
}

// ------------------------------------------------------------------------------- grouping
function ancestorsOf(groupId) {
  const chain = [];
  for (let g = groupId; g != null; g = GROUPS.get(g).parent) chain.unshift(g);
  return chain;  // outermost first
}

// The unit a node is drawn as: itself, or its outermost closed group.
function unitOf(id) {
  const group = NODES[id].group;
  if (group == null) return "n" + id;
  for (const g of ancestorsOf(group)) if (!state.expanded.has(g)) return "g" + g;
  return "n" + id;
}

const groupMembers = new Map();  // group id -> node ids inside it, at any depth
NODES.forEach((n) => {
  if (n.group == null) return;
  for (const g of ancestorsOf(n.group)) {
    if (!groupMembers.has(g)) groupMembers.set(g, []);
    groupMembers.get(g).push(n.id);
  }
});

// ---------------------------------------------------------------------------------- layout
// Layers from the leaves (top) to the output (bottom): each unit as low as its users allow. Units are ordered by their last node's position in the topological order, so a
// closed group that both feeds and uses an outside node cannot make the layering loop.
let layout = null;

function computeLayout() {
  const units = new Map();
  NODES.forEach((n) => {
    const u = unitOf(n.id);
    if (!units.has(u)) units.set(u, { id: u, key: n.id, nodes: [], preds: new Set(), succs: new Set() });
    const unit = units.get(u);
    unit.nodes.push(n.id);
    unit.key = Math.max(unit.key, n.id);
  });
  const edges = new Map();
  NODES.forEach((n) => n.inputs.forEach((i) => {
    const a = unitOf(i), b = unitOf(n.id);
    if (a === b) return;
    edges.set(a + ">" + b, { from: a, to: b });
    units.get(a).succs.add(b);
    units.get(b).preds.add(a);
  }));
  const list = [...units.values()].sort((a, b) => a.key - b.key);
  const dist = new Map();
  for (let i = list.length - 1; i >= 0; i--) {
    const u = list[i];
    let d = 0;
    u.succs.forEach((s) => { if (units.get(s).key > u.key) d = Math.max(d, dist.get(s) + 1); });
    dist.set(u.id, d);
  }
  const depth = Math.max(0, ...dist.values());
  const layers = [];
  list.forEach((u) => {
    u.layer = depth - dist.get(u.id);
    (layers[u.layer] = layers[u.layer] || []).push(u);
  });
  orderLayers(layers, units);
  const widest = Math.max(...layers.map((l) => l.length));
  layers.forEach((layer, li) => layer.forEach((u, pos) => {
    u.x = (pos + (widest - layer.length) / 2) * (NODE_W + GAP_X);
    u.y = li * (NODE_H + GAP_Y);
  }));
  return { units, edges, width: widest * (NODE_W + GAP_X), height: layers.length * (NODE_H + GAP_Y) };
}

// Reduce edge crossings: sweep the layers, sorting each by the mean position of its neighbours.
function orderLayers(layers, units) {
  const place = () => layers.forEach((l) => l.forEach((u, i) => { u.pos = i; }));
  place();
  const mean = (ids, fallback) => {
    let sum = 0, n = 0;
    ids.forEach((id) => { sum += units.get(id).pos; n++; });
    return n ? sum / n : fallback;
  };
  for (let sweep = 0; sweep < 6; sweep++) {
    const forward = sweep % 2 === 0;
    const sequence = forward ? layers : [...layers].reverse();
    sequence.forEach((layer) => {
      layer.forEach((u) => { u.bary = mean(forward ? u.preds : u.succs, u.pos); });
      layer.sort((a, b) => a.bary - b.bary);
      layer.forEach((u, i) => { u.pos = i; });
    });
  }
}

// --------------------------------------------------------------------------------- drawing
const svg = document.getElementById("graph");
const view = { x: 20, y: 20, scale: 1 };
let viewport, drawn;

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG_NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}

function draw() {
  layout = computeLayout();
  svg.textContent = "";
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#999" }, marker);
  viewport = el("g", { id: "viewport" }, svg);
  drawn = { units: new Map(), edges: new Map() };
  drawFrames();
  const edgeLayer = el("g", {}, viewport);
  layout.edges.forEach((e, key) => {
    const a = layout.units.get(e.from), b = layout.units.get(e.to);
    const x1 = a.x + NODE_W / 2, y1 = a.y + NODE_H, x2 = b.x + NODE_W / 2, y2 = b.y;
    const bend = Math.max(20, Math.abs(y2 - y1) / 2);
    const path = el("path", { class: "edge", d: `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`, "marker-end": "url(#arrow)" }, edgeLayer);
    drawn.edges.set(key, { path, start: [x1, y1] });
  });
  drawn.labels = el("g", {}, viewport);
  const nodeLayer = el("g", {}, viewport);
  layout.units.forEach((u) => drawUnit(u, nodeLayer));
  applyView();
  update();
}

function drawFrames() {
  const frames = el("g", {}, viewport);
  for (const [gid, members] of groupMembers) {
    if (!state.expanded.has(gid) || ancestorsOf(gid).some((g) => !state.expanded.has(g))) continue;
    const boxes = members.map((id) => layout.units.get(unitOf(id)));
    const pad = 10 + 6 * (ancestorsOf(gid).length - 1);
    const x0 = Math.min(...boxes.map((b) => b.x)) - pad, y0 = Math.min(...boxes.map((b) => b.y)) - pad - 14;
    const x1 = Math.max(...boxes.map((b) => b.x)) + NODE_W + pad, y1 = Math.max(...boxes.map((b) => b.y)) + NODE_H + pad;
    const frame = el("g", { class: "frame" }, frames);
    el("rect", { x: x0, y: y0, width: x1 - x0, height: y1 - y0, rx: 8 }, frame);
    const label = el("text", { x: x0 + 8, y: y0 + 13 }, frame);
    label.textContent = "\u2212 " + GROUPS.get(gid).label;
    label.addEventListener("click", () => { state.expanded.delete(gid); draw(); });
  }
}

function drawUnit(u, parent) {
  const g = el("g", { class: "node", transform: `translate(${u.x},${u.y})` }, parent);
  el("rect", { width: NODE_W, height: NODE_H, rx: 6 }, g);
  const line = (y, cls, text) => {
    const t = el("text", { x: 8, y, class: cls }, g);
    t.textContent = clip(text);
    return t;
  };
  const entry = { g, unit: u };
  if (u.id[0] === "g") {
    const gid = u.id.slice(1);
    g.classList.add("group");
    const steps = u.nodes.filter((id) => NODES[id].step != null).length;
    line(18, "title", "+ " + GROUPS.get(gid).label);
    line(36, "", u.nodes.length + " nodes, " + steps + " backward steps");
    line(54, "muted", "click to open");
    entry.gradText = line(66, "grad", "");
    g.addEventListener("click", () => { state.expanded.add(gid); draw(); });
  } else {
    const n = NODES[+u.id.slice(1)];
    if (n.op === "leaf") g.classList.add("param");
    if (n.op === "constant") g.classList.add("constant");
    const id = el("text", { x: NODE_W - 6, y: 14, class: "id", "text-anchor": "end" }, g);
    id.textContent = "t" + n.id;
    line(16, "title", nodeTitle(n));
    line(32, "", shapeText(n.shape) + " " + n.dtype);
    line(48, "", "value " + brief(n.value));  // \u03BC mean, \u03C3 standard deviation
    entry.gradText = line(64, "grad", "");
    entry.node = n;
    g.addEventListener("click", () => { state.selected = n.id; update(); });
  }
  drawn.units.set(u.id, entry);
}

function clip(text) {
  return text.length > 30 ? text.slice(0, 29) + "\u2026" : text;
}

function applyView() {
  viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.scale})`);
}

function fit() {
  const box = svg.getBoundingClientRect();
  const margin = 40;  // room for the group frames around the outermost nodes
  const w = layout.width + 2 * margin, h = layout.height + 2 * margin;
  view.scale = Math.max(0.05, Math.min(1.2, box.width / w, box.height / h));
  view.x = (box.width - layout.width * view.scale) / 2;
  view.y = (box.height - layout.height * view.scale) / 2;
  applyView();
}

// Bring a unit into view when the step moves it off screen.
function reveal(unitId) {
  const u = layout.units.get(unitId);
  if (!u) return;
  const box = svg.getBoundingClientRect();
  if (view.scale < 0.5) view.scale = 0.7;  // too small to read: zoom in on the step
  const sx = u.x * view.scale + view.x, sy = u.y * view.scale + view.y;
  if (sx < 0 || sy < 0 || sx + NODE_W * view.scale > box.width || sy + NODE_H * view.scale > box.height) {
    view.x = box.width / 2 - (u.x + NODE_W / 2) * view.scale;
    view.y = box.height / 2 - (u.y + NODE_H / 2) * view.scale;
    applyView();
  }
}

// ------------------------------------------------------------------------ stepping through
function currentStep() {
  return state.step > 0 ? STEPS[state.step - 1] : null;
}

function update() {
  const step = currentStep();
  const current = step ? unitOf(step.node) : null;
  const receiving = new Set(step ? step.sent.map((e) => unitOf(e.to)) : []);
  drawn.units.forEach((entry, uid) => {
    const cls = entry.g.classList;
    cls.toggle("current", uid === current);
    cls.toggle("receiving", receiving.has(uid) && uid !== current);
    cls.toggle("selected", entry.node != null && entry.node.id === state.selected);
    if (entry.node) {
      const n = entry.node;
      cls.toggle("done", n.step != null && n.step < state.step);
      const g = n.requires_grad ? gradAt(n.id, state.step) : null;
      if (!n.requires_grad) setGradText(entry, "no gradient", "nograd");
      else if (!g) setGradText(entry, "grad: not yet", "nograd");
      else {
        const part = g.got < g.of ? " (" + g.got + " of " + g.of + ")" : "";
        setGradText(entry, clip("grad" + part + " " + brief(g.rec)), g.got < g.of ? "grad partial" : "grad");
      }
    } else {
      const steps = entry.unit.nodes.filter((id) => NODES[id].step != null);
      const done = steps.filter((id) => NODES[id].step < state.step).length;
      setGradText(entry, steps.length ? done + " of " + steps.length + " steps done" : "", "grad");
    }
  });
  drawn.edges.forEach((e) => e.path.classList.remove("active"));
  drawn.labels.textContent = "";
  if (step) {
    step.sent.forEach((entry) => {
      const e = drawn.edges.get(unitOf(entry.to) + ">" + current);
      if (!e) return;
      e.path.classList.add("active");
      const label = el("text", { x: e.start[0] + 6, y: e.start[1] + 14, class: "edgelabel" }, drawn.labels);
      label.textContent = clip("\u2191 " + brief(sentGrad(entry)));
    });
    reveal(current);
  }
  document.getElementById("counter").textContent = state.step === 0
    ? "before backward (" + STEPS.length + " steps)" : "step " + state.step + " of " + STEPS.length;
  document.getElementById("first").disabled = document.getElementById("prev").disabled = state.step === 0;
  document.getElementById("last").disabled = document.getElementById("next").disabled = state.step === STEPS.length;
  document.body.dataset.step = state.step;
  renderPanel();
}

// Change a box's gradient line only when it changes: rewriting thousands of unchanged SVG
// texts on every step makes the browser lay them all out again.
function setGradText(entry, text, cls) {
  if (entry.shown === text + "|" + cls) return;
  entry.shown = text + "|" + cls;
  entry.gradText.textContent = text;
  entry.gradText.setAttribute("class", cls);
}

function go(step) {
  state.step = Math.max(0, Math.min(STEPS.length, step));
  update();
}

// ----------------------------------------------------------------------------- side panel
function renderPanel() {
  const panel = document.getElementById("panel");
  let html = "";
  const step = currentStep();
  if (!step) {
    const root = NODES[DATA.root];
    html += "<h2>" + (state.step === 0 ? "Before backward" : "") + "</h2>";
    html += "<p>The output <b>t" + root.id + "</b> (" + escapeHtml(nodeTitle(root)) + ") starts with the gradient of itself with respect to itself:</p>";
    html += describeRecord(DATA.seed, root.shape);
    html += '<p class="hint">Press \u2192 (or \u25B6) to run backward one node at a time, in the order the engine ran it. ' +
      "Each step takes the complete gradient of one node, applies that operation's local derivative, and sends one gradient to each input. " +
      "Click a node to see its values; click a purple box to open a group.</p>";
  } else {
    const n = NODES[step.node];
    const arrivals = received[n.id];
    html += "<h2>Step " + state.step + ": " + escapeHtml(nodeCall(n)) + "</h2>";
    if (n.name) html += '<div class="muted">' + escapeHtml(n.name) + "</div>";
    html += "<h3>Gradient arriving at t" + n.id + " " + shapeText(n.shape) + "</h3>";
    if (n.id === DATA.root) html += '<div class="muted">the seed of backward</div>';
    else if (arrivals.length > 1) html += '<div class="accumulate">the sum of ' + arrivals.length + " gradients, from steps " + arrivals.map((r) => r.step).join(", ") + "</div>";
    html += describeRecord(n.grad, n.shape);
    html += "<h3>Local derivative</h3><div class=\"rule\">" + escapeHtml(n.rule || "") + "</div>";
    html += "<h3>Sent to its inputs</h3>";
    n.inputs.forEach((inp, position) => {
      const entry = step.sent.find((e) => e.input === position);
      const target = NODES[inp];
      html += '<div class="send"><b>\u2192 t' + inp + "</b> " + escapeHtml(nodeTitle(target)) + " " + shapeText(target.shape);
      if (!entry) {
        html += ' <span class="muted">' + (target.requires_grad ? "no gradient" : "needs no gradient") + "</span></div>";
        return;
      }
      if (entry.broadcast_from) html += '<div class="muted">summed from the broadcast shape ' + shapeText(entry.broadcast_from) + "</div>";
      html += describeRecord(sentGrad(entry), target.shape);
      if (entry.of > 1) {
        html += '<div class="accumulate">t' + inp + " is used " + entry.of + " times: this is gradient " + entry.nth + " of " + entry.of;
        if (entry.nth === 1) html += "; more will be added to it</div>";
        else html += ", added to the earlier ones; the sum so far:</div>" + describeRecord(entry.total || target.grad, target.shape);
      }
      html += "</div>";
    });
  }
  if (state.selected != null) html += selectedHtml(NODES[state.selected]);
  panel.innerHTML = html;
}

function selectedHtml(n) {
  let html = "<hr><h2>Selected: " + escapeHtml(nodeCall(n)) + "</h2>";
  html += '<div class="muted">' + escapeHtml((n.name ? n.name + ", " : "") + shapeText(n.shape) + " " + n.dtype) + "</div>";
  if (n.group != null) html += '<div class="muted">in ' + escapeHtml(GROUPS.get(n.group).label) + "</div>";
  if (n.rule) html += "<h3>Local derivative</h3><div class=\"rule\">" + escapeHtml(n.rule) + "</div>";
  html += "<h3>Value</h3>" + describeRecord(n.value, n.shape);
  if (n.requires_grad) {
    const g = gradAt(n.id, state.step);
    html += "<h3>Gradient" + (g && g.got < g.of ? " so far (" + g.got + " of " + g.of + ")" : "") + "</h3>";
    html += g ? describeRecord(g.rec, n.shape) : '<span class="muted">not yet</span>';
  }
  return html;
}

// ----------------------------------------------------------------------------- interaction
document.getElementById("first").onclick = () => go(0);
document.getElementById("prev").onclick = () => go(state.step - 1);
document.getElementById("next").onclick = () => go(state.step + 1);
document.getElementById("last").onclick = () => go(STEPS.length);
document.getElementById("fit").onclick = fit;
document.getElementById("expand").onclick = () => { GROUPS.forEach((g) => state.expanded.add(g.id)); draw(); fit(); };
document.getElementById("collapse").onclick = () => { state.expanded.clear(); draw(); fit(); };

document.addEventListener("keydown", (event) => {
  const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  if (event.key in moves) go(state.step + moves[event.key]);
  else if (event.key === "Home") go(0);
  else if (event.key === "End") go(STEPS.length);
  else return;
  event.preventDefault();
});

svg.addEventListener("wheel", (event) => {
  event.preventDefault();
  const box = svg.getBoundingClientRect();
  const mx = event.clientX - box.left, my = event.clientY - box.top;
  const factor = Math.exp(-event.deltaY * 0.0015);
  const scale = Math.min(4, Math.max(0.03, view.scale * factor));
  view.x = mx - (mx - view.x) * (scale / view.scale);
  view.y = my - (my - view.y) * (scale / view.scale);
  view.scale = scale;
  applyView();
}, { passive: false });

let drag = null;
svg.addEventListener("mousedown", (event) => {
  drag = { x: event.clientX - view.x, y: event.clientY - view.y };
  svg.classList.add("panning");
});
window.addEventListener("mousemove", (event) => {
  if (!drag) return;
  view.x = event.clientX - drag.x;
  view.y = event.clientY - drag.y;
  applyView();
});
window.addEventListener("mouseup", () => { drag = null; svg.classList.remove("panning"); });

// What a test (or a curious reader, from the console) can ask the page.
window.minigradViewer = {
  state: () => {
    const step = currentStep();
    return {
      step: state.step,
      stepCount: STEPS.length,
      currentNode: step ? step.node : null,
      currentUnits: [...document.querySelectorAll(".node.current")].length,
      drawnUnits: drawn.units.size,
      panelTitle: (document.querySelector("#panel h2") || {}).textContent || "",
      panelText: document.getElementById("panel").textContent,
    };
  },
  go,
  select: (id) => { state.selected = id; update(); },
  expandAll: () => document.getElementById("expand").click(),
};

// Open the groups level by level, outermost first, while the drawing stays small enough to read.
function openWhileSmall(limit) {
  const depth = (g) => ancestorsOf(g.id).length;
  const deepest = Math.max(0, ...DATA.groups.map(depth));
  for (let level = 1; level <= deepest; level++) {
    const opened = DATA.groups.filter((g) => depth(g) === level).map((g) => g.id);
    opened.forEach((g) => state.expanded.add(g));
    if (new Set(NODES.map((n) => unitOf(n.id))).size > limit) {
      opened.forEach((g) => state.expanded.delete(g));
      return;
    }
  }
}

openWhileSmall(80);
draw();
fit();
