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

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll]").forEach(poll);
});
