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

  // Enter in a picker's search box searches; it must not submit the meeting.
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && ev.target.matches && ev.target.matches("input[data-chip-search]")) {
      ev.preventDefault();
    }
  });
})();
