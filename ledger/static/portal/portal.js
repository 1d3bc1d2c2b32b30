// Twin Ledger portal: small progressive enhancements; every page works without them.
"use strict";

// <form data-confirm="..."> asks before submitting (revocation, retries).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// <element data-poll="/url" data-interval="1000">: replaces its own HTML with the URL's response
// (a fragment) until the fragment carries data-poll-done.
function poll(element) {
  const url = element.dataset.poll;
  const interval = Number(element.dataset.interval || 1000);
  const tick = async () => {
    try {
      const response = await fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
      if (response.ok) {
        element.innerHTML = await response.text();
        if (element.querySelector("[data-poll-done]")) return;
      }
    } catch (error) {
      // network hiccup: try again on the next tick
    }
    window.setTimeout(tick, interval);
  };
  window.setTimeout(tick, interval);
}

// A table wider than a phone scrolls sideways inside its .table-wrap: keyboard users must be able
// to reach it (focusable) and screen readers to name it (the table's caption or the heading above).
function labelScrollRegion(wrap) {
  if (wrap.hasAttribute("tabindex")) return;
  const caption = wrap.querySelector("caption");
  let heading = wrap.previousElementSibling;
  while (heading && !/^H[1-6]$/.test(heading.tagName)) heading = heading.previousElementSibling;
  const name = (caption || heading || document.querySelector("h1"))?.textContent.trim() || "Table";
  wrap.setAttribute("tabindex", "0");
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-label", name);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll]").forEach(poll);
  document.querySelectorAll(".table-wrap").forEach(labelScrollRegion);
});
