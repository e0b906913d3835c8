// The review page: the queue of flagged bins, resolved by keyboard. No framework, no build step.
// Everything that came from the server (bin ids, S3 keys, notes, the model's answer) is put on the page
// with textContent or as an attribute of an element made here: never parsed as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const state = { token: null, entry: null, typed: "", legend: null, busy: false };

function $(id) { return document.getElementById(id); }

function text(id, value) { $(id).textContent = value === null || value === undefined ? "–" : String(value); }

// --- sign-in: Cognito hosted UI, authorization code with PKCE (no secret in the page) ---------------
function base64url(bytes) {
  let binary = "";
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function startSignIn(signIn) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const stateValue = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("pkce_verifier", verifier);
  sessionStorage.setItem("pkce_state", stateValue);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const query = new URLSearchParams({
    response_type: "code", client_id: signIn.client_id, redirect_uri: redirectUri(),
    scope: "openid", code_challenge: challenge, code_challenge_method: "S256", state: stateValue,
  });
  window.location.assign(signIn.url + "/oauth2/authorize?" + query.toString());
}

function redirectUri() { return window.location.origin + "/"; }

async function finishSignIn(signIn) {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  if (!code) return sessionStorage.getItem("access_token");
  history.replaceState(null, "", "/");
  if (params.get("state") !== sessionStorage.getItem("pkce_state")) throw new Error("sign-in state mismatch; sign in again");
  const response = await fetch(signIn.url + "/oauth2/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", client_id: signIn.client_id, code: code,
      redirect_uri: redirectUri(), code_verifier: sessionStorage.getItem("pkce_verifier") || "",
    }),
  });
  if (!response.ok) throw new Error("sign-in failed (" + response.status + ")");
  const tokens = await response.json();
  sessionStorage.setItem("access_token", tokens.access_token);
  return tokens.access_token;
}

// --- the API ----------------------------------------------------------------------------------------
async function api(path, options) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = "Bearer " + state.token;
  const response = await fetch(path, Object.assign({ headers: headers }, options || {}));
  let body = null;
  try { body = await response.json(); } catch (error) { body = null; }
  if (!response.ok) {
    const message = (body && body.message) || ("the server answered " + response.status);
    const failure = new Error(message);
    failure.status = response.status;
    throw failure;
  }
  return body;
}

// --- drawing ----------------------------------------------------------------------------------------
function drawLegend(legend) {
  const list = $("legend");
  list.replaceChildren();
  for (const [status, look] of Object.entries(legend.statuses)) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.backgroundColor = look.colour;
    const name = document.createElement("b");
    name.textContent = status;
    item.append(swatch, name, " " + look.description);
    list.append(item);
  }
}

function drawChart(probabilities, expected, predicted) {
  const svg = $("chart");
  svg.replaceChildren();
  const labels = Object.keys(probabilities || {}).sort((a, b) => parseFloat(a) - parseFloat(b));
  const width = 320 / Math.max(labels.length, 1);
  labels.forEach((label, index) => {
    const p = Math.max(0, Math.min(1, Number(probabilities[label]) || 0));
    const bar = document.createElementNS(SVG, "rect");
    const height = Math.round(p * 100);
    bar.setAttribute("x", String(index * width + 4));
    bar.setAttribute("y", String(105 - height));
    bar.setAttribute("width", String(width - 8));
    bar.setAttribute("height", String(height));
    const isExpected = String(expected) === label;
    bar.setAttribute("fill", isExpected ? "#1565c0" : String(predicted) === label ? "#c62828" : "#9e9e9e");
    const title = document.createElementNS(SVG, "title");
    title.textContent = label + ": " + (p * 100).toFixed(1) + "%" + (isExpected ? " (expected)" : "");
    bar.append(title);
    const caption = document.createElementNS(SVG, "text");
    caption.setAttribute("x", String(index * width + width / 2));
    caption.setAttribute("y", "122");
    caption.setAttribute("text-anchor", "middle");
    caption.textContent = label;
    svg.append(bar, caption);
  });
}

function drawEntry(entry) {
  state.entry = entry;
  state.typed = "";
  drawTyped();
  $("task").hidden = !entry;
  $("empty").hidden = !!entry;
  if (!entry) return;
  const look = state.legend.statuses[entry.status] || { colour: "#444", description: "" };
  text("bin", "Bin " + entry.bin_id);
  text("status", entry.status);
  $("status").style.backgroundColor = look.colour;
  text("status-description", look.description);
  text("expected", entry.expected_quantity);
  text("predicted", entry.predicted_count);
  text("priority", typeof entry.priority === "number" ? (entry.priority * 100).toFixed(0) + "%" : null);
  text("image-key", entry.image_key);
  text("captured", entry.captured_at);
  $("older").hidden = !entry.older_pending;
  text("older", entry.older_pending + " older flag(s) of this bin are pending; they come next.");
  const photo = $("photo");
  if (entry.photo_url) photo.src = entry.photo_url; else photo.removeAttribute("src");
  $("confirm").disabled = entry.expected_quantity === null || entry.expected_quantity === undefined;
  $("note").value = "";
  drawChart(entry.probabilities, entry.expected_quantity, entry.predicted_count);
}

function drawUpcoming(entries) {
  const list = $("upcoming");
  list.replaceChildren();
  for (const entry of entries) {
    const item = document.createElement("li");
    item.textContent = entry.bin_id + " · " + entry.status + " · expected " + entry.expected_quantity +
      ", counted " + entry.predicted_count;
    list.append(item);
  }
}

function drawTyped() {
  text("typed", state.typed ? "Correct to " + state.typed + " — Enter saves, Esc clears" : "");
}

function say(message) { text("message", message || ""); }

// --- the queue and resolutions ----------------------------------------------------------------------
async function loadQueue() {
  const queue = await api("/api/queue?limit=20");
  state.legend = queue.legend;
  drawLegend(queue.legend);
  text("who", "Signed in as " + queue.reviewer);
  text("progress", queue.progress.resolved_today + " of " + queue.progress.total_today + " today");
  drawEntry(queue.entries[0] || null);
  drawUpcoming(queue.entries.slice(1, 11));
}

async function resolve(outcome, count) {
  const entry = state.entry;
  if (!entry || state.busy) return;
  state.busy = true;
  const body = { bin_id: entry.bin_id, record_key: entry.record_key, outcome: outcome };
  if (outcome === "CORRECTED") body.count = count;
  const note = $("note").value.trim();
  if (note) body.note = note;
  try {
    const answer = await api("/api/reviews", { method: "POST", body: JSON.stringify(body) });
    const record = answer.record;
    say("");
    $("last").hidden = false;
    text("last-text", "Bin " + record.bin_id + ": " + record.review_outcome +
      (record.reviewed_count !== undefined ? " (" + record.reviewed_count + ")" : "") + " by " + record.reviewer);
    text("last-note", record.review_note || "");
  } catch (error) {
    say(error.message);
  } finally {
    state.busy = false;
  }
  await loadQueue().catch((error) => say(error.message));
}

function onKey(event) {
  if (event.target instanceof HTMLInputElement || !state.entry || event.ctrlKey || event.metaKey || event.altKey) return;
  if (/^[0-9]$/.test(event.key)) {
    state.typed = (state.typed + event.key).replace(/^0+(?=\d)/, "").slice(0, 3);
    drawTyped();
  } else if (event.key === "Backspace") {
    state.typed = state.typed.slice(0, -1);
    drawTyped();
  } else if (event.key === "Escape") {
    state.typed = "";
    drawTyped();
  } else if (event.key === "Enter") {
    const typed = state.typed;
    if (typed === "") resolve("CONFIRMED");
    else if (Number(typed) === state.entry.expected_quantity) resolve("CONFIRMED");
    else resolve("CORRECTED", Number(typed));
  } else if (event.key === "u" || event.key === "U") {
    resolve("UNREADABLE");
  } else {
    return;
  }
  event.preventDefault();
}

async function main() {
  const config = await api("/config.json");
  if (config.sign_in) {
    state.token = await finishSignIn(config.sign_in);
    if (!state.token) {
      $("sign-in").hidden = false;
      $("sign-in").addEventListener("click", () => startSignIn(config.sign_in));
      text("progress", "Sign in to review flagged bins.");
      return;
    }
  }
  document.addEventListener("keydown", onKey);
  $("confirm").addEventListener("click", () => resolve("CONFIRMED"));
  $("unreadable").addEventListener("click", () => resolve("UNREADABLE"));
  $("note").addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === "Escape") $("note").blur(); });
  try {
    await loadQueue();
  } catch (error) {
    if (error.status === 401) { sessionStorage.removeItem("access_token"); $("sign-in").hidden = false; }
    say(error.message);
  }
}

main().catch((error) => say(error.message));
