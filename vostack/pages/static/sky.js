// vostack sky view: the rows' positions as markers in Aladin Lite, the copy bundled with the package.
// The background survey comes from CDS in the user's browser; the markers come from this server only.

let aladin = null;
let catalog = null;
let A = null;

function centre(positions) {
  // the mean direction of the positions, and a field of view that holds them
  let x = 0, y = 0, z = 0;
  for (const [lon, lat] of positions) {
    const a = (lon * Math.PI) / 180, b = (lat * Math.PI) / 180;
    x += Math.cos(b) * Math.cos(a); y += Math.cos(b) * Math.sin(a); z += Math.sin(b);
  }
  const r = Math.hypot(x, y, z) / positions.length;
  const lon = ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
  const lat = (Math.atan2(z, Math.hypot(x, y)) * 180) / Math.PI;
  let spread = 0;
  const c = [Math.cos((lat * Math.PI) / 180) * Math.cos((lon * Math.PI) / 180),
             Math.cos((lat * Math.PI) / 180) * Math.sin((lon * Math.PI) / 180), Math.sin((lat * Math.PI) / 180)];
  for (const [l, b] of positions) {
    const a = (l * Math.PI) / 180, d = (b * Math.PI) / 180;
    const dot = c[0] * Math.cos(d) * Math.cos(a) + c[1] * Math.cos(d) * Math.sin(a) + c[2] * Math.sin(d);
    spread = Math.max(spread, (Math.acos(Math.max(-1, Math.min(1, dot))) * 180) / Math.PI);
  }
  return { lon, lat, fov: r < 0.3 ? 360 : Math.min(360, Math.max(0.05, spread * 2.4)) };
}

export async function show(panel, rows, config, state) {
  const lonIndex = rows.fields.findIndex((f) => f.name === config.lon);
  const latIndex = rows.fields.findIndex((f) => f.name === config.lat);
  if (!config.aladin) {
    panel.textContent = "The sky view needs the bundled Aladin Lite: run `python -m vostack.pages.vendor` where vostack is installed.";
    return;
  }
  if (lonIndex < 0 || latIndex < 0) {
    panel.textContent = `The rows have no ${config.lon}/${config.lat} columns to place on the sky.`;
    return;
  }
  const positions = rows.rows.filter((r) => r[lonIndex] !== null && r[latIndex] !== null).map((r) => [r[lonIndex], r[latIndex], r]);
  if (!aladin) {
    A = (await import(config.aladin)).default;
    await A.init;
    const holder = document.createElement("div");
    holder.id = "aladin";
    const note = document.createElement("p");
    note.className = "note";
    note.id = "sky-note";
    panel.replaceChildren(holder, note);
    aladin = A.aladin(holder, { survey: "P/DSS2/color", projection: "AIT", showReticle: false, log: false });
    catalog = A.catalog({ name: "selection", sourceSize: 10, color: "#ff4d4d", shape: "circle" });
    aladin.addCatalog(catalog);
  }
  catalog.removeAll();
  catalog.addSources(positions.map(([lon, lat, row]) => A.source(lon, lat, Object.fromEntries(rows.fields.map((f, i) => [f.name, row[i]])))));
  panel.dataset.markers = String(positions.length);
  const note = document.getElementById("sky-note");
  note.textContent = `${positions.length.toLocaleString()} positions` +
    (rows.more ? ` (the first ${rows.rows.length.toLocaleString()} rows of ${state.total.toLocaleString()})` : "") +
    ". Background: the DSS2 colour survey from CDS (fetched by your browser).";
  if (positions.length) {
    const view = centre(positions);
    aladin.gotoRaDec(view.lon, view.lat);
    aladin.setFoV(view.fov);
  }
}
