/* Parley: small progressive enhancements. Everything works without this file. */
(function () {
  "use strict";

  // Show server errors from htmx requests (CSRF, 404, 500) instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var area = document.getElementById("flash-area");
    if (!area) return;
    var xhr = event.detail.xhr;
    var text = xhr.getResponseHeader("X-Parley-Error") || xhr.statusText || "Request failed";
    try { text = decodeURIComponent(text); } catch (e) { /* keep raw */ }
    var div = document.createElement("div");
    div.className = "flash flash-error";
    div.setAttribute("role", "alert");
    div.textContent = text;
    area.appendChild(div);
  });

  // A form with data-confirm asks before it is sent (the CSP allows no onsubmit= handler).
  // Capture phase: a refusal stops the event before htmx or the browser sends the form.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    });
  }
})();
