// vostack SAMP: send the selection to TOPCAT (or any SAMP client) through the SAMP Web Profile
// (SAMP 1.3 §5: XML-RPC over HTTP to the hub at localhost:21012, which asks its user to accept the page).
// The button appears only when a hub answers; without one nothing changes.

const HUB = "http://localhost:21012/";

function escapeXml(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function encode(value) {
  if (Array.isArray(value)) return `<array><data>${value.map((v) => `<value>${encode(v)}</value>`).join("")}</data></array>`;
  if (value !== null && typeof value === "object") {
    return `<struct>${Object.entries(value).map(([k, v]) => `<member><name>${escapeXml(k)}</name><value>${encode(v)}</value></member>`).join("")}</struct>`;
  }
  return `<string>${escapeXml(value)}</string>`;
}

function decode(node) {
  const inner = node.firstElementChild;
  if (!inner) return node.textContent;
  switch (inner.tagName) {
    case "struct": {
      const out = {};
      for (const member of inner.children) {
        out[member.querySelector("name").textContent] = decode(member.querySelector("value"));
      }
      return out;
    }
    case "array":
      return [...inner.querySelector("data").children].map(decode);
    default:
      return inner.textContent;
  }
}

async function call(method, params, timeout = 0) {
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>` +
    params.map((p) => `<param><value>${encode(p)}</value></param>`).join("") + "</params></methodCall>";
  const controller = new AbortController();
  const timer = timeout ? setTimeout(() => controller.abort(), timeout) : null;
  try {
    const response = await fetch(HUB, { method: "POST", body, headers: { "Content-Type": "text/xml" }, signal: controller.signal });
    const document = new DOMParser().parseFromString(await response.text(), "text/xml");
    const fault = document.querySelector("fault value");
    if (fault) throw new Error(decode(fault).faultString || "the SAMP hub refused");
    const value = document.querySelector("params param value");
    return value ? decode(value) : null;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

export async function hubRunning() {
  try {
    await call("samp.webhub.ping", [], 1500);
    return true;
  } catch {
    return false;
  }
}

export async function sendTable(url, name) {
  const registration = await call("samp.webhub.register", [{ "samp.name": "vostack search page" }]);
  const key = registration["samp.private-key"];
  try {
    await call("samp.webhub.declareMetadata", [key, { "samp.name": "vostack search page",
      "samp.description.text": "A vostack faceted search page" }]);
    return await call("samp.webhub.notifyAll", [key, { "samp.mtype": "table.load.votable",
      "samp.params": { url, name, "table-id": url } }]);
  } finally {
    await call("samp.webhub.unregister", [key]).catch(() => {});
  }
}

let hub = null;

export async function offer(button, status) {
  if (hub === null) hub = hubRunning();
  if (!(await hub)) return; // no hub: no button
  button.hidden = false;
  button.onclick = async () => {
    status.textContent = "asking the SAMP hub (accept this page in its dialog)…";
    try {
      const sent = await sendTable(new URL(button.dataset.url, location.href).href, document.title);
      status.textContent = `sent to ${Array.isArray(sent) ? sent.length : 0} SAMP client(s)`;
    } catch (error) {
      status.textContent = `SAMP: ${error.message}`;
    }
  };
}
