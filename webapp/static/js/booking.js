/* Public booking page (#22): the visitor's time zone from the browser. Everything works
   without this file: the zone is then a select the visitor sets, the host's by default. */
(function () {
  "use strict";

  function detect() {
    // The server marks the picker's form when the URL named no zone: choose the
    // browser's and ask for the times again in it (htmx replaces the picker).
    var form = document.querySelector("form[data-zone-detect]");
    if (!form) return;
    form.removeAttribute("data-zone-detect");
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
    var select = form.querySelector("select[name=zone]");
    if (!select || !zone || select.value === zone) return;
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
    if (!known) return;
    select.value = zone;
    // A real submit event: htmx sends it as its GET (or, without htmx, the browser does).
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  function hideButtons(root) {
    // The picker's "Show times" button: htmx sends the form on every change instead.
    if (!window.htmx) return;
    Array.prototype.forEach.call(root.querySelectorAll("[data-js-hide]"), function (b) { b.hidden = true; });
  }

  function ready() { hideButtons(document); detect(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
  document.addEventListener("htmx:afterSettle", function (event) { hideButtons(event.target); detect(); });
})();
