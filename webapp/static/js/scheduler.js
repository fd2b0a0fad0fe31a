/* The desktop scheduler's own enhancements: calendar slots fill the time fields,
   collapsible calendar, reminder rows. The chip pickers are chips.js, the editors rte.js.
   Without JavaScript the form still posts every field. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var scheduler = $("scheduler");
  if (!scheduler) return;
  var form = $("meeting-form");
  var t = {};
  try { t = JSON.parse($("scheduler-i18n").textContent); } catch (e) {}
  // Attendees' local times (X8) refresh on this event as well as on "change".
  function changed() { form.dispatchEvent(new CustomEvent("meeting:changed", { bubbles: true })); }

  // --- collapsible calendar (S12) ---
  var toggle = $("toggle-calendar");
  function setCollapsed(collapsed) {
    scheduler.classList.toggle("collapsed", collapsed);
    toggle.setAttribute("aria-expanded", String(!collapsed));
    toggle.textContent = collapsed ? toggle.dataset.show : toggle.dataset.hide;
    try { localStorage.setItem("parley.calendarCollapsed", collapsed ? "1" : "0"); } catch (e) {}
  }
  toggle.dataset.hide = t.hide || toggle.textContent;
  toggle.dataset.show = t.show || "Show calendar";
  toggle.addEventListener("click", function () {
    setCollapsed(!scheduler.classList.contains("collapsed"));
    if (!scheduler.classList.contains("collapsed")) scrollCalendar();
  });
  try { if (localStorage.getItem("parley.calendarCollapsed") === "1") setCollapsed(true); } catch (e) {}

  // --- time helpers ---
  function toMinutes(hhmm) { var p = (hhmm || "0:0").split(":"); return (+p[0]) * 60 + (+p[1]); }
  function toHHMM(min) {
    min = ((min % 1440) + 1440) % 1440;
    return String(Math.floor(min / 60)).padStart(2, "0") + ":" + String(min % 60).padStart(2, "0");
  }
  function setTimes(date, startMin, endMin) {
    $("start_date").value = date;
    $("start_time").value = toHHMM(startMin);
    $("end_time").value = toHHMM(endMin);
    var endDate = $("end_date");
    if (endDate) {
      if (endMin >= 1440) {
        var d = new Date(date + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + 1);
        endDate.value = d.toISOString().slice(0, 10);
      } else { endDate.value = ""; }
    }
    markSelection();
    changed();
  }
  function markSelection() {
    var date = $("start_date").value, s = toMinutes($("start_time").value), e = toMinutes($("end_time").value);
    document.querySelectorAll("#week-calendar .slot").forEach(function (slot) {
      var m = toMinutes(slot.dataset.time);
      var on = slot.dataset.date === date && m >= s && m < e;
      slot.classList.toggle("selected", on);
      slot.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  // --- calendar: click or drag over slots (S2) ---
  var drag = null;
  document.addEventListener("pointerdown", function (ev) {
    var slot = ev.target.closest && ev.target.closest("#week-calendar .slot");
    if (!slot) return;
    ev.preventDefault();
    drag = { date: slot.dataset.date, from: toMinutes(slot.dataset.time), to: toMinutes(slot.dataset.time) };
    var duration = Math.max(30, toMinutes($("end_time").value) - toMinutes($("start_time").value));
    drag.duration = duration > 0 && duration <= 480 ? duration : 30;
    drag.moved = false;
  });
  document.addEventListener("pointerover", function (ev) {
    if (!drag) return;
    var slot = ev.target.closest && ev.target.closest("#week-calendar .slot");
    if (!slot || slot.dataset.date !== drag.date) return;
    drag.to = toMinutes(slot.dataset.time);
    drag.moved = drag.to !== drag.from;
    var a = Math.min(drag.from, drag.to), b = Math.max(drag.from, drag.to) + 30;
    setTimes(drag.date, a, b);
  });
  // #21: a shaded slot says why it is not free: its title on hover, this line on tap.
  function sayWhy(slot) {
    var line = $("week-why");
    if (line) line.textContent = slot && slot.dataset.why ? slot.dataset.date + " " + slot.dataset.time + ": " + slot.dataset.why : "";
  }
  document.addEventListener("pointerup", function (ev) {
    if (!drag) return;
    if (!drag.moved) {
      setTimes(drag.date, drag.from, drag.from + drag.duration);
      sayWhy(ev.target.closest && ev.target.closest("#week-calendar .slot"));
    }
    drag = null;
  });
  // --- calendar from the keyboard: one slot in the tab order (the chosen one, else 08:00
  // of the first day); arrows move by half an hour or a day, Enter or Space chooses. ---
  function slotAt(date, time) {
    return document.querySelector('#week-calendar .slot[data-date="' + date + '"][data-time="' + time + '"]');
  }
  function rove(slot) {
    document.querySelectorAll('#week-calendar .slot[tabindex="0"]').forEach(function (s) {
      s.setAttribute("tabindex", "-1");
    });
    if (slot) slot.setAttribute("tabindex", "0");
  }
  var ARROWS = { ArrowUp: [0, -30], ArrowDown: [0, 30], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
  document.addEventListener("keydown", function (ev) {
    var slot = ev.target.closest && ev.target.closest("#week-calendar .slot");
    if (!slot) return;
    var m = toMinutes(slot.dataset.time);
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      setTimes(slot.dataset.date, m, m + 30);
      sayWhy(slot);
      return;
    }
    var step = ARROWS[ev.key];
    if (!step) return;
    ev.preventDefault();
    var col = slot.closest(".day-col"), next = null;
    if (step[0]) {
      var day = step[0] < 0 ? col.previousElementSibling : col.nextElementSibling;
      if (day && day.classList.contains("day-col")) next = slotAt(day.dataset.date, slot.dataset.time);
    } else {
      next = slotAt(slot.dataset.date, toHHMM(m + step[1]));
      if (next && (m + step[1] < 0 || m + step[1] >= 1440)) next = null;
    }
    if (next) { rove(next); next.focus(); }
  });
  // The grid opens scrolled to the chosen slot, else to the working day (08:00).
  function scrollCalendar() {
    var week = document.getElementById("week-calendar");
    markSelection();
    if (!week || week.dataset.scrolled) return;
    var chosen = week.querySelector(".slot.selected");
    var first = week.querySelector(".day-col");
    var target = chosen || (first && slotAt(first.dataset.date, "08:00"));
    rove(target || week.querySelector(".slot"));
    if (!target || !week.offsetParent) return;  // a hidden calendar is scrolled when shown
    week.dataset.scrolled = "1";
    var head = week.querySelector(".day-head");
    week.scrollTop += target.getBoundingClientRect().top - week.getBoundingClientRect().top -
      (head ? head.offsetHeight : 0) - (chosen ? 2 * target.offsetHeight : 0);
  }
  document.body.addEventListener("htmx:afterSwap", scrollCalendar);
  scrollCalendar();
  ["start_date", "start_time", "end_time"].forEach(function (id) {
    $(id).addEventListener("change", markSelection);
  });
  // Attendees who are users of the account ("user:ID" chips): their busy time overlaid.
  function attendeeUsers() {
    return Array.prototype.map.call(form.querySelectorAll("input[name=attendees]"), function (i) { return i.value; })
      .filter(function (v) { return v.indexOf("user:") === 0; }).map(function (v) { return v.slice(5); });
  }
  function reloadCalendar(withAttendees) {
    if (!window.htmx || !$("start_date").value) return;
    var host = form.querySelector("[name=host_id]");
    var params = new URLSearchParams({
      host_id: host ? host.value : "", week: $("start_date").value, timezone: $("timezone").value
    });
    if (withAttendees) params.set("with", attendeeUsers().join(","));
    window.htmx.ajax("GET", "/meetings/calendar?" + params.toString(), { target: "#week-calendar", swap: "outerHTML" });
  }
  function offerOverlay() {
    var button = $("overlay-attendees");
    if (button) button.hidden = attendeeUsers().length === 0;
  }
  document.body.addEventListener("htmx:afterSwap", offerOverlay);
  form.addEventListener("meeting:changed", offerOverlay);
  offerOverlay();
  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("#overlay-attendees")) reloadCalendar(true);
  });
  $("start_date").addEventListener("change", function () { reloadCalendar(false); });

  // --- reminders: add and remove, at most three (S7) ---
  var rows = $("reminder-rows"), add = $("add-reminder");
  function refreshReminders() { add.hidden = rows.querySelectorAll(".reminder-row").length >= 3; }
  add.addEventListener("click", function () {
    if (rows.querySelectorAll(".reminder-row").length >= 3) return;
    rows.appendChild($("reminder-template").content.cloneNode(true));
    refreshReminders();
    var inputs = rows.querySelectorAll("input[name=reminder_amount]");
    inputs[inputs.length - 1].focus();
  });
  rows.addEventListener("click", function (ev) {
    var btn = ev.target.closest(".remove-reminder");
    if (btn) { btn.closest(".reminder-row").remove(); refreshReminders(); add.focus(); }
  });
  refreshReminders();
})();
