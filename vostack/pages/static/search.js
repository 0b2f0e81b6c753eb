// vostack search page: clicks on facets, the density map, sort and page links fetch the page's middle part
// instead of the whole page; the pictures (sky, map, plot) and SAMP load on demand. The page works without it.

const root = document.getElementById("search");
const config = JSON.parse(root.dataset.config);
const fragment = document.getElementById("fragment");
let state = readState();
let current = null; // the open picture: {key, module}
let opening = null; // the tab being opened
const loaded = {};

function readState() {
  const node = document.getElementById("state");
  return node ? JSON.parse(node.textContent) : { params: [], total: 0, adql: "" };
}

function query(params) {
  return new URLSearchParams(params).toString();
}

async function navigate(url, push) {
  const target = new URL(url, location.href);
  const parts = new URL(target);
  parts.searchParams.set("view", "fragment");
  fragment.classList.add("busy");
  try {
    const response = await fetch(parts, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    const text = await response.text();
    if (!response.ok && !text.includes('id="summary"')) {
      location.href = target.href; // let the browser show the error page
      return;
    }
    fragment.innerHTML = text;
    const landed = new URL(response.url); // after the redirect of a form (a click on the map, a range)
    landed.searchParams.delete("view");
    if (push) history.pushState({}, "", landed.href);
    state = readState();
    enhance();
    refreshPicture();
  } finally {
    fragment.classList.remove("busy");
  }
}

root.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-nav]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(link.getAttribute("href"), true); // not link.href: an SVG link's is an SVGAnimatedString
});

root.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-nav]");
  if (!form) return;
  event.preventDefault();
  const url = new URL(form.action, location.href);
  url.search = new URLSearchParams(new FormData(form)).toString();
  navigate(url.href, true);
});

window.addEventListener("popstate", () => navigate(location.href, false));

// ---------------------------------------------------------------- density map: a click selects the cell

root.addEventListener("click", (event) => {
  const image = event.target.closest("form[data-nav] input[type=image]");
  if (!image) return;
  event.preventDefault();
  const form = image.form;
  const url = new URL(form.action, location.href);
  const params = new URLSearchParams(new FormData(form));
  const rect = image.getBoundingClientRect();
  params.set(`${image.name}.x`, String(Math.round(((event.clientX - rect.left) * image.width) / rect.width)));
  params.set(`${image.name}.y`, String(Math.round(((event.clientY - rect.top) * image.height) / rect.height)));
  url.search = params.toString();
  navigate(url.href, true);
}, true);

// ---------------------------------------------------------------- pictures and SAMP

async function fetchRows() {
  const params = state.params.filter(([k]) => k !== "offset");
  params.push(["limit", String(config.max_rows)]);
  const response = await fetch(`${config.api}/rows?${query(params)}`, { credentials: "same-origin" });
  if (!response.ok) throw new Error((await response.json()).error || response.statusText);
  return response.json();
}

let generation = 0; // a newer refresh (another click, another tab) supersedes a slower one

async function refreshPicture() {
  if (!current) return;
  const mine = ++generation;
  const { key, module } = current;
  const panel = document.getElementById(`panel-${key}`);
  try {
    const rows = await fetchRows();
    if (mine === generation) await module.show(panel, rows, config, state);
  } catch (error) {
    if (mine === generation) panel.textContent = `The picture could not be made: ${error.message}`;
  }
}

async function openTab(key) {
  for (const button of document.querySelectorAll("#pictures [data-tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === key));
  }
  for (const panel of document.querySelectorAll("#pictures .panel")) panel.hidden = panel.id !== `panel-${key}`;
  const wanted = key;
  opening = wanted;
  if (!loaded[key]) loaded[key] = await import(new URL(`${key}.js`, import.meta.url).href);
  if (opening !== wanted) return; // another tab was chosen meanwhile
  current = { key, module: loaded[key] };
  await refreshPicture();
}

function enhance() {
  const button = document.getElementById("samp");
  if (button) {
    import(new URL("samp.js", import.meta.url).href).then((samp) => samp.offer(button, document.getElementById("samp-status")));
  }
}

const tabs = document.querySelector("#pictures .tabs");
if (tabs) {
  tabs.hidden = false;
  tabs.addEventListener("click", (event) => {
    const button = event.target.closest("[data-tab]");
    if (button) openTab(button.dataset.tab);
  });
  const first = tabs.querySelector("[data-tab]");
  if (first) openTab(first.dataset.tab);
}
enhance();
