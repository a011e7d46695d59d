// vigia dashboard: live panel updates over Server-Sent Events and alert acknowledge/resolve.
// Plain JavaScript, no build step. Texts come from the page (#vigia-strings, EN or ES).
"use strict";
(function () {
  const body = document.body;
  const name = body.dataset.dashboard;
  const status = document.getElementById("live-status");
  const stringsEl = document.getElementById("vigia-strings");
  const T = stringsEl ? JSON.parse(stringsEl.textContent) : {};
  const sel = (id) => '[data-panel="' + CSS.escape(id) + '"]';
  function swap(id, html) {
    const el = document.querySelector(sel(id));
    if (el) el.innerHTML = html;
  }
  function stamp(prefix) {
    if (status) status.textContent = prefix + " " + new Date().toISOString().slice(11, 19) + " UTC";
  }
  if (name && window.EventSource) {
    const url = "/api/v1/dashboards/" + encodeURIComponent(name) + "/events" + location.search;
    const es = new EventSource(url);
    es.addEventListener("panel", (ev) => {
      try {
        const d = JSON.parse(ev.data);
        if (d && typeof d.id === "string" && typeof d.html === "string") {
          swap(d.id, d.html);
          stamp(T.updated || "Updated");
        }
      } catch (e) {
        console.warn("vigia: bad panel event", e);
      }
    });
    es.addEventListener("open", () => stamp(T.live || "Live"));
    es.addEventListener("error", () => {
      if (status) status.textContent = T.reconnecting || "Reconnecting…";
    });
  }
  async function refreshPanel(id) {
    const r = await fetch(location.href, { headers: { Accept: "text/html" } });
    if (!r.ok) return;
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const el = doc.querySelector(sel(id));
    if (el) swap(id, el.innerHTML);
  }
  document.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-action]");
    if (!b) return;
    const note = window.prompt(T.notePrompt || "Note:", "");
    if (note === null) return;
    b.disabled = true;
    try {
      const url = "/api/v1/alerts/" + encodeURIComponent(b.dataset.fp) + "/" + b.dataset.action;
      const r = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ note: note }),
      });
      if (!r.ok) window.alert((T.failed || "Failed") + ": " + (await r.text()));
      const panel = b.closest("[data-panel]");
      if (panel) await refreshPanel(panel.dataset.panel);
    } catch (e) {
      window.alert(String(e));
    } finally {
      b.disabled = false;
    }
  });
})();
