// vostack planetary map: the selection's footprints, as GeoJSON from the TAP service, over the body's map
// (equirectangular: longitude -180° at the left edge, 0° in the middle, east to the right; latitude +90° on top).

const W = 1080, H = 540;
const images = {};

function loadImage(url) {
  if (!images[url]) {
    images[url] = new Promise((resolve) => {
      const image = new Image();
      image.onload = () => resolve(image);
      image.onerror = () => resolve(null);
      image.src = url;
    });
  }
  return images[url];
}

const x = (lon) => ((((lon + 180) % 360) + 360) % 360) * (W / 360);
const y = (lat) => (90 - lat) * (H / 180);

// Points of the small circle of radius r degrees around (lon, lat), in degrees.
function circle(lon, lat, r, steps = 48) {
  const d = (Math.PI / 180), points = [];
  const la = lat * d, lo = lon * d, rr = r * d;
  for (let i = 0; i <= steps; i++) {
    const bearing = (2 * Math.PI * i) / steps;
    const lat2 = Math.asin(Math.sin(la) * Math.cos(rr) + Math.cos(la) * Math.sin(rr) * Math.cos(bearing));
    const lon2 = lo + Math.atan2(Math.sin(bearing) * Math.sin(rr) * Math.cos(la), Math.cos(rr) - Math.sin(la) * Math.sin(lat2));
    points.push([lon2 / d, lat2 / d]);
  }
  return points;
}

// A ring drawn without jumping across the map's edge: longitudes kept continuous, drawn at -360, 0, +360.
function drawRing(g, ring) {
  const unwrapped = [];
  let previous = null;
  for (const [lon, lat] of ring) {
    let l = lon;
    if (previous !== null) { while (l - previous > 180) l -= 360; while (previous - l > 180) l += 360; }
    unwrapped.push([l, lat]);
    previous = l;
  }
  const base = x(unwrapped[0][0]) - ((unwrapped[0][0] + 180) * W) / 360;
  for (const shift of [-W, 0, W]) {
    g.beginPath();
    unwrapped.forEach(([lon, lat], i) => {
      const px = base + ((lon + 180) * W) / 360 + shift, py = y(lat);
      if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
    });
    g.closePath();
    g.fill();
    g.stroke();
  }
}

function footprint(feature) {
  const circleValue = Object.values(feature.properties || {}).find(
    (v) => Array.isArray(v) && v.length === 3 && v.every((n) => typeof n === "number") && v[2] > 0);
  if (circleValue) return [circle(circleValue[0], circleValue[1], circleValue[2])];
  const geometry = feature.geometry;
  if (geometry && geometry.type === "Polygon") return geometry.coordinates;
  return [];
}

export async function show(panel, rows, config, state) {
  const params = new URLSearchParams({ REQUEST: "doQuery", LANG: "ADQL", QUERY: state.adql, RESPONSEFORMAT: "geojson",
                                       MAXREC: String(config.max_rows) });
  const response = await fetch(`${config.tap}/sync?${params}`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`the TAP service answered ${response.status}`);
  const collection = await response.json();
  const features = collection.features || [];
  const targets = new Set(features.map((f) => (f.properties || {}).target_name).filter(Boolean));
  const body = targets.size === 1 ? [...targets][0] : null;
  const canvas = document.createElement("canvas");
  canvas.className = "planet";
  canvas.id = "planet";
  canvas.width = W;
  canvas.height = H;
  const note = document.createElement("p");
  note.className = "note";
  panel.replaceChildren(canvas, note);
  const g = canvas.getContext("2d");
  g.fillStyle = "#111";
  g.fillRect(0, 0, W, H);
  const url = body && config.maps ? config.maps[body] : null;
  const image = url ? await loadImage(url) : null;
  if (image) g.drawImage(image, 0, 0, W, H);
  g.strokeStyle = "rgba(255, 255, 255, 0.25)";
  g.lineWidth = 1;
  for (let lon = -180; lon <= 180; lon += 30) { g.beginPath(); g.moveTo(x(lon === 180 ? 179.999 : lon), 0); g.lineTo(x(lon === 180 ? 179.999 : lon), H); g.stroke(); }
  for (let lat = -60; lat <= 60; lat += 30) { g.beginPath(); g.moveTo(0, y(lat)); g.lineTo(W, y(lat)); g.stroke(); }
  g.fillStyle = "rgba(255, 77, 77, 0.08)";
  g.strokeStyle = "rgba(255, 90, 90, 0.85)";
  g.lineWidth = 1;
  let drawn = 0;
  for (const feature of features) {
    const rings = footprint(feature);
    for (const ring of rings) drawRing(g, ring);
    if (!rings.length && feature.geometry && feature.geometry.type === "Point") {
      const [lon, lat] = feature.geometry.coordinates;
      g.beginPath(); g.arc(x(lon), y(lat), 2.5, 0, 2 * Math.PI); g.fill(); g.stroke();
    }
    if (rings.length || (feature.geometry && feature.geometry.type === "Point")) drawn++;
  }
  panel.dataset.footprints = String(drawn);
  note.textContent = `${drawn.toLocaleString()} footprints` + (body ? ` on ${body}` : "") +
    (image ? ` over its map (${url.split("/").pop()})` : body ? " (no map of this body)" : ` of ${targets.size} bodies: pick one target to see its map`) +
    (features.length < state.total ? `; the first ${features.length.toLocaleString()} of ${state.total.toLocaleString()} rows` : "") +
    ". Longitude -180° to 180° east, latitude -90° to 90°.";
}
