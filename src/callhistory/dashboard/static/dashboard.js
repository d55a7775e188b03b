// The dashboard's only script. Pages work without it; it adds tag suggestions for a
// comma-separated list, a progress line for exports and the player's speed.
"use strict";

function suggestTags() {
  const input = document.getElementById("tags");
  const list = document.getElementById("tag-suggestions");
  if (!input || !list) return;
  const names = Array.from(list.options).map((o) => o.value);
  // A datalist suggests whole values; offer "what is typed so far, <tag>" instead.
  input.addEventListener("input", () => {
    const parts = input.value.split(",");
    const head = parts.slice(0, -1).map((p) => p.trim()).filter(Boolean);
    const last = parts[parts.length - 1].trim().toLowerCase();
    const prefix = head.length ? head.join(", ") + ", " : "";
    list.replaceChildren(...names
      .filter((n) => !head.includes(n) && n.toLowerCase().includes(last))
      .slice(0, 20)
      .map((n) => { const o = document.createElement("option"); o.value = prefix + n; return o; }));
  });
}

function showExportProgress() {
  const status = document.getElementById("export-status");
  const bar = document.getElementById("export-progress");
  if (!status || !bar || !window.ReadableStream) return;
  for (const link of document.querySelectorAll("a[data-export]")) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      const kind = link.dataset.export;
      const response = await fetch(link.href, { credentials: "same-origin" });
      if (!response.ok || !response.body) { window.location = link.href; return; }
      const total = Number(response.headers.get("X-Total-Count") || "0");
      const name = (/filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "") || [])[1] || "calls." + kind;
      const reader = response.body.getReader();
      const chunks = [];
      let rows = 0, bytes = 0;
      bar.hidden = false; bar.max = total || 1; bar.value = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        bytes += value.length;
        // CSV rows are counted by their line ends (less the header); XLSX by its size.
        if (kind === "csv") { for (const b of value) if (b === 10) rows++; }
        const shown = kind === "csv" ? Math.max(rows - 1, 0) : Math.round(bytes / 1024) + " KiB";
        if (kind === "csv") bar.value = Math.min(rows, total);
        status.textContent = status.dataset.running.replace("{rows}", shown);
      }
      bar.value = bar.max;
      status.textContent = status.dataset.done.replace("{rows}", String(total));
      const url = URL.createObjectURL(new Blob(chunks, { type: response.headers.get("Content-Type") || "" }));
      const a = document.createElement("a");
      a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
  }
}

function playbackRate() {
  for (const select of document.querySelectorAll("select[data-player]")) {
    const audio = document.getElementById(select.dataset.player);
    if (!audio) continue;
    select.addEventListener("change", () => { audio.playbackRate = Number(select.value) || 1; });
  }
}

document.addEventListener("DOMContentLoaded", () => { suggestTags(); showExportProgress(); playbackRate(); });
