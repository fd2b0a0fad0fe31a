/* The meeting form's times, desktop and phone: the end follows the start (moving the start
   date or time moves the end by the same amount, the duration is kept), and the duration
   presets (15, 30, 45, 60 min) set the end from the start. Without JavaScript the form
   posts the fields as typed. Wall-clock arithmetic: the server checks the times in the
   meeting's zone (a time the clocks skip, or one that happens twice, is named there). */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var startDate = $("start_date"), startTime = $("start_time");
  var endDate = $("end_date"), endTime = $("end_time");
  if (!startDate || !startTime || !endTime) return;
  var form = startDate.form;
  var MINUTE = 60000;

  // "2026-12-23" + "09:30" as minutes since the epoch, read as UTC (wall-clock only).
  function wall(day, hhmm) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day || "") || !/^\d{2}:\d{2}/.test(hhmm || "")) return null;
    var ms = Date.parse(day + "T" + hhmm.slice(0, 5) + ":00Z");
    return isNaN(ms) ? null : ms / MINUTE;
  }
  function startAt() { return wall(startDate.value, startTime.value); }
  function endAt() {
    return wall((endDate && endDate.value) || startDate.value, endTime.value);
  }
  // The duration the end keeps: from the form as it was opened, then each time the end or
  // a preset changes it (a non-positive one is not kept: the server names that error).
  var duration = null;
  function remember() {
    var s = startAt(), e = endAt();
    if (s !== null && e !== null && e > s) duration = e - s;
  }
  remember();

  var details = endDate && endDate.closest("details");
  var following = false;  // while the end is set here, its change is not the user's
  function setEnd(minutes) {
    var iso = new Date(minutes * MINUTE).toISOString();
    endTime.value = iso.slice(11, 16);
    if (endDate) {
      var day = iso.slice(0, 10);
      // The desktop form leaves the end date empty for "the same day" (its details closed).
      if (details && day === startDate.value) endDate.value = "";
      else if (!details && !endDate.value && day === startDate.value) endDate.value = "";
      else endDate.value = day;
      if (details && endDate.value) details.open = true;
    }
    // Others listen to the end's change (the week grid's selection, attendees' local times).
    following = true;
    endTime.dispatchEvent(new Event("change", { bubbles: true }));
    following = false;
  }

  function startMoved() {
    var s = startAt();
    if (s === null || duration === null) return;
    setEnd(s + duration);
  }
  startDate.addEventListener("change", startMoved);
  startTime.addEventListener("change", startMoved);
  // The user changed the end: that is the duration from now on.
  [endTime, endDate].forEach(function (input) {
    if (input) input.addEventListener("change", function () {
      if (!following) { remember(); pressPreset(); }
    });
  });

  // --- duration presets ---
  var presets = document.querySelector("[data-duration-presets]");
  function pressPreset() {
    if (!presets) return;
    presets.querySelectorAll("button[data-minutes]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(parseInt(b.dataset.minutes, 10) === duration));
    });
  }
  if (presets) {
    presets.hidden = false;
    pressPreset();
    presets.addEventListener("click", function (ev) {
      var button = ev.target.closest("button[data-minutes]");
      var s = startAt();
      if (!button || s === null) return;
      duration = parseInt(button.dataset.minutes, 10);
      setEnd(s + duration);
      pressPreset();
    });
  }
  // The clock-change block checks itself again as the times change (meetings/
  // _occurrence.html): a check sent before the rep chose the first or second time must not
  // undo that choice when its answer comes in.
  var check = $("when-check"), chosenAt = 0, sentAt = 0;
  if (check) {
    check.addEventListener("change", function (ev) {
      if (/_fold$/.test(ev.target.name || "")) chosenAt = Date.now();
    });
    check.addEventListener("htmx:beforeRequest", function () { sentAt = Date.now(); });
    check.addEventListener("htmx:beforeSwap", function (ev) {
      if (chosenAt >= sentAt) ev.detail.shouldSwap = false;
    });
  }
  // The week grid sets start and end itself (scheduler.js): keep what it chose.
  if (form) form.addEventListener("meeting:changed", function () {
    if (!following) { remember(); pressPreset(); }
  });
})();
