/* The one chip picker (S5 attendees, S11 associations; desktop scheduler and phone flow,
   markup in templates/macro/fields.html chip_picker). A search result button
   (.pick, data-target = the chips box id, data-name, data-value, data-label,
   data-invitable) adds a chip with its hidden input; a chip's × removes it; a
   [data-clear-chips] button empties the box it names. Each change fires
   "meeting:changed" on the form (the attendees' local times listen to it).
   Without JavaScript the chips the server rendered are posted as they are. */
(function () {
  "use strict";

  // Find the form while the element is still in the page (a pick or chip is removed).
  function changed(form) {
    if (form) form.dispatchEvent(new CustomEvent("meeting:changed", { bubbles: true }));
  }

  function addChip(pick) {
    var box = document.getElementById(pick.dataset.target);
    if (!box || box.querySelector('input[value="' + CSS.escape(pick.dataset.value) + '"]')) return;
    var chip = document.createElement("span");
    var warn = pick.dataset.invitable === "no";
    chip.className = "chip" + (warn ? " chip-warn" : "");
    chip.appendChild(document.createTextNode(pick.dataset.label));
    if (warn && box.dataset.warn) {
      var small = document.createElement("small");
      small.textContent = "(" + box.dataset.warn + ")";
      chip.appendChild(document.createTextNode(" "));
      chip.appendChild(small);
    }
    chip.appendChild(document.createTextNode(" "));
    var input = document.createElement("input");
    input.type = "hidden"; input.name = pick.dataset.name; input.value = pick.dataset.value;
    var rm = document.createElement("button");
    rm.type = "button"; rm.className = "chip-remove"; rm.textContent = "×";
    rm.setAttribute("aria-label", (box.dataset.removeLabel || "Remove {name}")
      .replace("{name}", pick.dataset.label));
    chip.appendChild(input); chip.appendChild(rm); box.appendChild(chip);
  }

  document.addEventListener("click", function (ev) {
    if (!ev.target.closest) return;
    var pick = ev.target.closest(".pick");
    if (pick && pick.dataset.target) {
      var pickForm = pick.closest("form");
      addChip(pick);
      // Close the results and give the search box back, empty, for the next one.
      var results = pick.closest(".picker-results");
      var holder = results && results.parentElement;
      var search = holder && holder.previousElementSibling;
      if (holder) holder.innerHTML = "";
      if (search && search.tagName === "INPUT") { search.value = ""; search.focus(); }
      changed(pickForm);
      return;
    }
    var remove = ev.target.closest(".chip-remove");
    if (remove) {
      var fieldset = remove.closest("fieldset");
      var form = remove.closest("form");
      remove.closest(".chip").remove();
      // The focus goes to the next chip's ×, else to the search box, never to the page.
      var next = fieldset && fieldset.querySelector(".chip-remove, input[type=search]");
      if (next) next.focus();
      changed(form);
      return;
    }
    var clear = ev.target.closest("[data-clear-chips]");
    if (clear) {
      var box = document.getElementById(clear.dataset.clearChips);
      if (box) box.innerHTML = "";
      changed(clear.closest("form"));
    }
  });

  // The results from the keyboard: Down from the search box to the first result, Up and
  // Down between results, Enter (a button's own) adds one, Escape back to the box.
  function resultsOf(search) {
    var holder = search.nextElementSibling;
    return holder ? Array.prototype.slice.call(holder.querySelectorAll(".pick")) : [];
  }
  function searchOf(pick) {
    var results = pick.closest(".picker-results");
    var holder = results && results.parentElement;
    var search = holder && holder.previousElementSibling;
    return search && search.matches("input[data-chip-search]") ? search : null;
  }
  document.addEventListener("keydown", function (ev) {
    var target = ev.target;
    if (!target.matches) return;
    if (target.matches("input[data-chip-search]")) {
      // Enter in a picker's search box searches; it must not submit the meeting.
      if (ev.key === "Enter") ev.preventDefault();
      if (ev.key === "ArrowDown") {
        var first = resultsOf(target)[0];
        if (first) { ev.preventDefault(); first.focus(); }
      }
      return;
    }
    if (!target.matches(".picker-results .pick")) return;
    var search = searchOf(target);
    var picks = search ? resultsOf(search) : [];
    var at = picks.indexOf(target);
    if (ev.key === "ArrowDown" && at < picks.length - 1) { ev.preventDefault(); picks[at + 1].focus(); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); (at > 0 ? picks[at - 1] : search).focus(); }
    else if (ev.key === "Escape" && search) { ev.preventDefault(); search.focus(); }
  });
})();
