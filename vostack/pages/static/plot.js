// vostack plot: a scatter plot of two columns of the rows, or a histogram of one, drawn as SVG; either axis
// linear or logarithmic (then only positive values are drawn).

const SVG = "http://www.w3.org/2000/svg";
const NUMERIC = new Set(["short", "int", "long", "float", "double", "unsignedByte"]);
const W = 640, H = 400, M = { left: 62, right: 16, top: 14, bottom: 44 };
let chosen = { x: null, y: null, logX: false, logY: false };

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Round tick values over [lo, hi]: steps of 1, 2 or 5 times a power of ten.
function ticks(lo, hi, count) {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw);
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function label(field) {
  return field.unit ? `${field.name} [${field.unit}]` : field.name;
}

// A tick's label: on a logarithmic axis the tick is a power of ten.
function tickText(t, log) {
  if (!log) return String(t);
  const v = 10 ** t;
  return Math.abs(t) >= 4 ? v.toExponential(0) : String(Number(v.toPrecision(3)));
}

function axes(svg, xs, ys, xLabel, yLabel, sx, sy, logX = false, logY = false) {
  svg.append(el("line", { class: "axis", x1: M.left, y1: H - M.bottom, x2: W - M.right, y2: H - M.bottom }));
  svg.append(el("line", { class: "axis", x1: M.left, y1: M.top, x2: M.left, y2: H - M.bottom }));
  for (const t of xs) {
    svg.append(el("line", { class: "axis", x1: sx(t), y1: H - M.bottom, x2: sx(t), y2: H - M.bottom + 4 }));
    svg.append(el("text", { x: sx(t), y: H - M.bottom + 16, "text-anchor": "middle" }, tickText(t, logX)));
  }
  for (const t of ys) {
    svg.append(el("line", { class: "axis", x1: M.left - 4, y1: sy(t), x2: M.left, y2: sy(t) }));
    svg.append(el("text", { x: M.left - 6, y: sy(t) + 4, "text-anchor": "end" }, tickText(t, logY)));
  }
  svg.append(el("text", { x: (M.left + W - M.right) / 2, y: H - 8, "text-anchor": "middle" }, xLabel));
  svg.append(el("text", { x: 14, y: (M.top + H - M.bottom) / 2, "text-anchor": "middle",
                          transform: `rotate(-90 14 ${(M.top + H - M.bottom) / 2})` }, yLabel));
}

function extent(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  return [lo, hi];
}

// A value where the axis puts it: its logarithm on a logarithmic axis (NaN, not drawn, unless positive).
const place = (v, log) => (typeof v !== "number" ? NaN : !log ? v : v > 0 ? Math.log10(v) : NaN);

export function draw(svg, rows, xi, yi, logX = false, logY = false) {
  svg.replaceChildren();
  const fields = rows.fields;
  const xs = rows.rows.map((r) => place(r[xi], logX)).filter(Number.isFinite);
  if (!xs.length) { svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no values to plot")); return 0; }
  const [x0, x1] = extent(xs);
  const sx = (v) => M.left + ((v - x0) / (x1 - x0)) * (W - M.left - M.right);
  if (yi < 0) {
    const n = Math.max(5, Math.min(60, Math.ceil(Math.sqrt(xs.length))));
    const counts = new Array(n).fill(0);
    for (const v of xs) counts[Math.min(n - 1, Math.floor(((v - x0) / (x1 - x0)) * n))]++;
    const peak = Math.max(...counts);
    const sy = (v) => H - M.bottom - (v / peak) * (H - M.top - M.bottom);
    const width = (W - M.left - M.right) / n;
    counts.forEach((c, i) => {
      const bar = el("rect", { class: "bar", x: M.left + i * width, y: sy(c), width: Math.max(width - 1, 1), height: H - M.bottom - sy(c) });
      bar.append(el("title", {}, `${(x0 + (i * (x1 - x0)) / n).toPrecision(5)}: ${c}`));
      svg.append(bar);
    });
    axes(svg, ticks(x0, x1, 6), ticks(0, peak, 5), label(fields[xi]), "rows", sx, sy, logX, false);
    return xs.length;
  }
  const pairs = rows.rows.map((r) => [place(r[xi], logX), place(r[yi], logY)])
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const [y0, y1] = extent(pairs.map(([, y]) => y));
  const sy = (v) => H - M.bottom - ((v - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const g = el("g");
  for (const [x, y] of pairs) g.append(el("circle", { class: "dot", cx: sx(x).toFixed(1), cy: sy(y).toFixed(1), r: 2 }));
  svg.append(g);
  axes(svg, ticks(x0, x1, 6), ticks(y0, y1, 6), label(fields[xi]), label(fields[yi]), sx, sy, logX, logY);
  return pairs.length;
}

export async function show(panel, rows, config, state) {
  const numeric = rows.fields.map((f, i) => [f, i]).filter(([f]) => NUMERIC.has(f.datatype) && !f.arraysize);
  panel.replaceChildren();
  if (!numeric.length) { panel.textContent = "The rows have no numeric column to plot."; return; }
  const controls = document.createElement("div");
  controls.className = "plot-controls";
  const make = (name, options, value) => {
    const select = document.createElement("select");
    select.id = `plot-${name}`;
    for (const [text, v] of options) select.append(new Option(text, v, false, v === value));
    const wrap = document.createElement("label");
    wrap.append(`${name} `, select);
    controls.append(wrap);
    return select;
  };
  const names = numeric.map(([f]) => f.name);
  if (!names.includes(chosen.x)) chosen.x = names[0];
  if (chosen.y !== "" && !names.includes(chosen.y)) chosen.y = names.length > 1 ? names[1] : "";
  const xs = make("x", numeric.map(([f]) => [label(f), f.name]), chosen.x);
  const ys = make("y", [["histogram of x", ""], ...numeric.map(([f]) => [label(f), f.name])], chosen.y);
  const checkbox = (name, checked) => {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = `plot-${name}`;
    box.checked = checked;
    const wrap = document.createElement("label");
    wrap.append(box, ` ${name.replace("log", "log ")}`);
    controls.append(wrap);
    return box;
  };
  const logX = checkbox("logx", chosen.logX);
  const logY = checkbox("logy", chosen.logY);
  const note = document.createElement("span");
  note.className = "note";
  controls.append(note);
  const svg = el("svg", { class: "plot", id: "plot", viewBox: `0 0 ${W} ${H}`, role: "img" });
  panel.append(controls, svg);
  const redraw = () => {
    chosen = { x: xs.value, y: ys.value, logX: logX.checked, logY: logY.checked };
    const xi = rows.fields.findIndex((f) => f.name === xs.value);
    const yi = ys.value ? rows.fields.findIndex((f) => f.name === ys.value) : -1;
    const n = draw(svg, rows, xi, yi, logX.checked, logY.checked);
    note.textContent = `${n.toLocaleString()} of the ${rows.rows.length.toLocaleString()} rows shown` +
      (rows.more ? ` (the first ${rows.rows.length.toLocaleString()} of ${state.total.toLocaleString()})` : "");
  };
  for (const control of [xs, ys, logX, logY]) control.addEventListener("change", redraw);
  redraw();
}
