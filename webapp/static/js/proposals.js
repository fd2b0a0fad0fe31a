/* Propose times: a click on a free slot of the week grid fills the next empty time row
   (a second click on a chosen slot clears it). Without JavaScript the date and time
   fields and "Next 3 free" do the same. */
(function () {
  "use strict";
  var form = document.getElementById("proposal-form");
  if (!form) return;
  var dates = form.querySelectorAll("input[name=slot_date]");
  var times = form.querySelectorAll("input[name=slot_time]");
  function mark() {
    var chosen = {};
    for (var i = 0; i < dates.length; i++) {
      if (dates[i].value && times[i].value) chosen[dates[i].value + " " + times[i].value] = true;
    }
    document.querySelectorAll("#week-calendar .slot").forEach(function (slot) {
      var on = !!chosen[slot.dataset.date + " " + slot.dataset.time];
      slot.classList.toggle("selected", on);
      slot.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }
  function choose(slot) {
    var i;
    for (i = 0; i < dates.length; i++) {
      if (dates[i].value === slot.dataset.date && times[i].value === slot.dataset.time) {
        dates[i].value = ""; times[i].value = ""; mark(); return;
      }
    }
    if (slot.classList.contains("unavailable")) {
      var line = document.getElementById("week-why");
      if (line) line.textContent = slot.dataset.date + " " + slot.dataset.time + ": " + (slot.dataset.why || "");
      return;
    }
    for (i = 0; i < dates.length; i++) {
      if (!dates[i].value && !times[i].value) {
        dates[i].value = slot.dataset.date; times[i].value = slot.dataset.time; mark(); return;
      }
    }
  }
  document.addEventListener("click", function (ev) {
    var slot = ev.target.closest && ev.target.closest("#week-calendar .slot");
    if (slot) { ev.preventDefault(); choose(slot); }
  });
  document.addEventListener("keydown", function (ev) {
    var slot = ev.target.closest && ev.target.closest("#week-calendar .slot");
    if (slot && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); choose(slot); }
  });
  form.addEventListener("change", mark);
  document.body.addEventListener("htmx:afterSwap", function () {
    var first = document.querySelector("#week-calendar .slot");
    if (first) first.setAttribute("tabindex", "0");
    var week = document.getElementById("week-calendar");
    var eight = week && week.querySelector('.slot[data-time="08:00"]');
    if (week && eight && !week.dataset.scrolled) {
      week.dataset.scrolled = "1";
      week.scrollTop += eight.getBoundingClientRect().top - week.getBoundingClientRect().top;
    }
    mark();
  });
})();
