/* Scheduler enhancements: calendar slots fill the time fields, collapsible calendar,
   reminder rows, attendee/association chips, and a small rich-text editor.
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
  toggle.addEventListener("click", function () { setCollapsed(!scheduler.classList.contains("collapsed")); });
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
  document.addEventListener("pointerup", function () {
    if (!drag) return;
    if (!drag.moved) setTimes(drag.date, drag.from, drag.from + drag.duration);
    drag = null;
  });
  document.addEventListener("keydown", function (ev) {
    var slot = ev.target.closest && ev.target.closest("#week-calendar .slot");
    if (slot && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      var m = toMinutes(slot.dataset.time);
      setTimes(slot.dataset.date, m, m + 30);
    }
  });
  function scrollCalendar() {
    var grid = document.querySelector("#week-calendar .week-grid");
    if (grid && !grid.dataset.scrolled) { grid.scrollTop = 8 * 2 * 24; grid.dataset.scrolled = "1"; }
    markSelection();
  }
  document.body.addEventListener("htmx:afterSwap", scrollCalendar);
  scrollCalendar();
  ["start_date", "start_time", "end_time"].forEach(function (id) {
    $(id).addEventListener("change", markSelection);
  });
  $("start_date").addEventListener("change", function () {
    if (!window.htmx || !$("start_date").value) return;
    var host = form.querySelector("[name=host_id]");
    window.htmx.ajax("GET", "/meetings/calendar?" + new URLSearchParams({
      host_id: host ? host.value : "", week: $("start_date").value, timezone: $("timezone").value
    }).toString(), { target: "#week-calendar", swap: "outerHTML" });
  });

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

  // --- chips: attendees and associations (S5, S11) ---
  document.addEventListener("click", function (ev) {
    var pick = ev.target.closest && ev.target.closest(".pick");
    if (pick) {
      var box = $(pick.dataset.target);
      var exists = box.querySelector('input[value="' + CSS.escape(pick.dataset.value) + '"]');
      if (!exists) {
        var chip = document.createElement("span");
        chip.className = "chip" + (pick.dataset.invitable === "no" ? " chip-warn" : "");
        chip.textContent = pick.dataset.label + " ";
        var input = document.createElement("input");
        input.type = "hidden"; input.name = pick.dataset.name; input.value = pick.dataset.value;
        var rm = document.createElement("button");
        rm.type = "button"; rm.className = "chip-remove"; rm.textContent = "×";
        rm.setAttribute("aria-label", (t.remove || "Remove") + " " + pick.dataset.label);
        chip.appendChild(input); chip.appendChild(rm); box.appendChild(chip);
      }
      var results = pick.closest(".picker-results");
      var search = results && results.parentElement.previousElementSibling;
      if (results) results.parentElement.innerHTML = "";
      if (search && search.tagName === "INPUT") { search.value = ""; search.focus(); }
      changed();
      return;
    }
    var remove = ev.target.closest && ev.target.closest(".chip-remove");
    if (remove) { remove.closest(".chip").remove(); changed(); }
  });
  var clear = $("clear-associations");
  if (clear) clear.addEventListener("click", function () { $("association-chips").innerHTML = ""; });

  // --- small rich-text editor (S9, S10) ---
  var snippets = [];
  try { snippets = JSON.parse($("snippet-data").textContent || "[]"); } catch (e) {}
  document.querySelectorAll(".rte").forEach(function (wrap) {
    var area = wrap.querySelector("textarea");
    var bar = document.createElement("div");
    bar.className = "rte-toolbar"; bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", t.formatting || "Formatting");
    var editor = document.createElement("div");
    editor.className = "rte-area"; editor.contentEditable = "true";
    editor.setAttribute("role", "textbox"); editor.setAttribute("aria-multiline", "true");
    editor.setAttribute("aria-labelledby", area.id + "-label");
    var label = document.querySelector('label[for="' + area.id + '"]');
    if (label) { label.id = area.id + "-label"; label.addEventListener("click", function () { editor.focus(); }); }
    editor.innerHTML = area.value;
    function sync() { area.value = editor.innerHTML; }
    [["bold", "B", t.bold], ["italic", "I", t.italic], ["insertUnorderedList", "•", t.bullets],
     ["insertOrderedList", "1.", "1. " + (t.numbers || "Numbered list")], ["createLink", "🔗", t.link]].forEach(function (b) {
      var btn = document.createElement("button");
      btn.type = "button"; btn.className = "btn btn-sm"; btn.textContent = b[1];
      btn.setAttribute("aria-label", b[2]); btn.title = b[2];
      btn.addEventListener("click", function () {
        editor.focus();
        if (b[0] === "createLink") {
          var url = window.prompt(t.link_prompt || "https://");
          if (!url || !/^(https?:|mailto:)/i.test(url)) return;
          document.execCommand("createLink", false, url);
        } else { document.execCommand(b[0]); }
        sync();
      });
      bar.appendChild(btn);
    });
    if (snippets.length) {
      var select = document.createElement("select");
      select.setAttribute("aria-label", t.snippet || "Snippet");
      var first = document.createElement("option"); first.value = ""; first.textContent = t.snippet || "…";
      select.appendChild(first);
      snippets.forEach(function (s, i) {
        var o = document.createElement("option"); o.value = String(i); o.textContent = s.name; select.appendChild(o);
      });
      select.addEventListener("change", function () {
        if (select.value === "") return;
        editor.focus();
        document.execCommand("insertHTML", false, snippets[+select.value].html);
        select.value = ""; sync();
      });
      bar.appendChild(select);
    }
    editor.addEventListener("input", sync);
    area.hidden = true;
    wrap.insertBefore(bar, area);
    wrap.insertBefore(editor, area);
  });
  form.addEventListener("submit", function () {
    document.querySelectorAll(".rte").forEach(function (wrap) {
      wrap.querySelector("textarea").value = wrap.querySelector(".rte-area").innerHTML;
    });
  });
})();
