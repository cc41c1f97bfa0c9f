// Phalanx dashboard: the little the pages need beyond HTML. No inline script (the CSP forbids it), no HTML
// built from data: every value is set with textContent or an attribute.
"use strict";

function tlpClass(level) {
  const name = String(level || "").toUpperCase().replace("TLP:", "");
  if (name.startsWith("AMBER")) return "amber";
  return ["RED", "GREEN", "CLEAR"].includes(name) ? name.toLowerCase() : "unknown";
}

function sightingsText(s) {
  if (!s) return "–";
  if (s.organizations === null) return "fewer than " + s.fewer_than;
  return s.organizations + (s.organizations === 1 ? " org" : " orgs");
}

function when(stamp) {
  return String(stamp).replace("T", " ").slice(0, 16) + " UTC";
}

function liveFeed(table) {
  const status = document.getElementById("live-status");
  const template = document.getElementById("row-template");
  const body = table.tBodies[0];
  let newest = table.dataset.newest;
  let pending = null;
  let busy = false;

  function say(text) { if (status) status.textContent = text; }

  function rowOf(row) {
    const tr = template.content.firstElementChild.cloneNode(true);
    tr.dataset.added = row.added_micros;
    const tlp = tr.querySelector(".tlp");
    tlp.textContent = row.tlp;
    tlp.classList.add("tlp-" + tlpClass(row.tlp));
    tr.querySelector(".type").textContent = row.type;
    const link = tr.querySelector(".name a");
    link.textContent = row.name;
    link.setAttribute("href", "/objects/" + encodeURIComponent(row.id));
    tr.querySelector(".contributor").textContent = row.contributor;
    tr.querySelector(".sightings").textContent = sightingsText(row.sightings);
    const time = tr.querySelector("time");
    time.setAttribute("datetime", row.added);
    time.textContent = when(row.added);
    return tr;
  }

  async function refresh() {
    if (busy) { pending = pending || setTimeout(refresh, 200); return; }
    busy = true;
    pending = null;
    try {
      const url = new URL(table.dataset.source, window.location.origin);
      url.searchParams.set("format", "json");
      if (newest) url.searchParams.set("after", newest);
      const answer = await fetch(url.pathname + url.search, {credentials: "same-origin",
                                                              headers: {"Accept": "application/json"}});
      if (!answer.ok) { say("The feed could not be updated (HTTP " + answer.status + "). Reload the page."); return; }
      const view = await answer.json();
      const rows = view.rows || [];
      for (const row of rows.slice().reverse()) {
        const old = body.querySelector('a[href="/objects/' + CSS.escape(encodeURIComponent(row.id)) + '"]');
        if (old) old.closest("tr").remove();
        body.insertBefore(rowOf(row), body.firstChild);
      }
      if (view.newest) newest = String(view.newest);
      if (rows.length) {
        const empty = document.getElementById("feed-empty");
        if (empty) empty.remove();
        say(rows.length + (rows.length === 1 ? " new object" : " new objects") + " just arrived.");
      }
    } catch (err) {
      say("The feed could not be updated. Reload the page.");
    } finally {
      busy = false;
    }
  }

  const source = new EventSource(table.dataset.live);
  source.addEventListener("open", () => say("Live: new objects appear as they are shared."));
  source.addEventListener("error", () => say("Reconnecting to the live stream…"));
  source.addEventListener("closed", () => { say("The live stream ended (your session changed). Reload the page."); source.close(); });
  source.addEventListener("lagged", () => { say("Catching up…"); refresh(); });
  const changed = () => { if (!pending) pending = setTimeout(refresh, 150); };
  for (const kind of ["object-added", "object-revoked", "sighting-added", "message"]) source.addEventListener(kind, changed);
  table.dataset.ready = "1";
}

function previewAudience(form) {
  // the publish form's "who will see it" answer is asked for again when its TLP or recipients change
  const target = document.getElementById("audience");
  if (!target) return;
  let timer = null;
  form.addEventListener("change", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const data = new FormData(form);
      data.set("action", "preview");
      const answer = await fetch("/publish/audience", {method: "POST", body: new URLSearchParams(data),
                                                        credentials: "same-origin", headers: {"Accept": "application/json"}});
      if (!answer.ok) {
        // the service's reason (an unknown recipient, a role that may not share...), as text
        const problem = document.createElement("p");
        problem.className = "error";
        problem.textContent = "The audience cannot be worked out (HTTP " + answer.status + ").";
        try {
          const refusal = await answer.json();
          if (refusal && refusal.description) problem.textContent = refusal.description;
        } catch (err) { /* not JSON: keep the status */ }
        target.replaceChildren(problem);
        return;
      }
      const view = await answer.json();
      const list = document.createElement("ul");
      for (const line of view.audience || []) {
        const item = document.createElement("li");
        item.textContent = line;
        list.appendChild(item);
      }
      target.replaceChildren(list);
    }, 150);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table[data-live]")) liveFeed(table);
  for (const form of document.querySelectorAll("form[data-audience]")) previewAudience(form);
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => { if (!window.confirm(button.dataset.confirm)) event.preventDefault(); });
  }
});
