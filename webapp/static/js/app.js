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

  // The phone's app bar: the menu button shows the links (CSS folds them on narrow screens
  // only once this has run, so without JavaScript they stay on the bar).
  var bar = document.querySelector(".topbar"), menuButton = document.getElementById("menu-toggle");
  if (bar && menuButton) {
    bar.classList.add("js-menu");
    menuButton.hidden = false;
    var setOpen = function (open) {
      bar.classList.toggle("open", open);
      menuButton.setAttribute("aria-expanded", String(open));
    };
    menuButton.addEventListener("click", function () { setOpen(!bar.classList.contains("open")); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && bar.classList.contains("open")) { setOpen(false); menuButton.focus(); }
    });
  }

  // A zone picker (select[data-zone-search]) gets a search box above it: typing "taipei"
  // or "new york" keeps the matching zones in the list and chooses the first one. The
  // select stays what the form sends. iOS ignores hidden <option>s, so the options are
  // taken out and put back rather than hidden.
  function zoneKey(text) { return text.toLowerCase().replace(/_/g, " "); }
  function setUpZoneSearch(select) {
    if (select.hasAttribute("data-zone-search-ready")) return;
    select.setAttribute("data-zone-search-ready", "");
    var all = Array.prototype.slice.call(select.options);
    var box = document.createElement("input");
    box.type = "search";
    box.className = "zone-search";
    box.autocomplete = "off";
    box.placeholder = select.getAttribute("data-zone-search");
    box.setAttribute("aria-label", select.getAttribute("data-zone-search"));
    box.setAttribute("aria-controls", select.id);
    box.addEventListener("input", function () {
      var needle = zoneKey(box.value.trim());
      var current = select.value;
      var shown = all.filter(function (o) {
        return !needle || zoneKey(o.value + " " + o.text).indexOf(needle) !== -1;
      });
      if (!shown.length) shown = all.filter(function (o) { return o.value === current; });
      select.textContent = "";
      shown.forEach(function (o) { select.appendChild(o); });
      var keep = shown.some(function (o) { return o.value === current; });
      select.value = needle && !keep && shown.length ? shown[0].value : current;
      if (select.value !== current) select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    // Enter in the box chooses, it does not send the form.
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); select.focus(); }
    });
    select.parentNode.insertBefore(box, select);
  }
  function setUpAll(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll("select[data-zone-search]").forEach(setUpZoneSearch);
  }
  document.addEventListener("DOMContentLoaded", function () { setUpAll(document); });
  document.addEventListener("htmx:load", function (event) { setUpAll(event.target); });

  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    });
  }
})();
