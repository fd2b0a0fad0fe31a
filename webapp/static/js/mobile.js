/* Phone scheduling flow: @mention type-ahead in the internal note, and one submit of
   "Continue and send". The chip pickers are chips.js. Without JavaScript the form still
   posts every field. */
(function () {
  "use strict";
  // A second tap while the first submit is on its way must not send twice.
  document.querySelectorAll("form[data-submit-once]").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      if (f.dataset.sent) { ev.preventDefault(); return; }
      f.dataset.sent = "1";
    });
  });
  var form = document.getElementById("m-meeting-form");
  if (!form) return;
  form.addEventListener("click", function (ev) {
    var mention = ev.target.closest(".mention-pick");
    if (mention) { insertMention(mention.dataset.name); }
  });

  // --- @mentions: the word after "@" before the caret asks the server for teammates ---
  var note = document.getElementById("internal_note_text");
  var query = document.getElementById("mention-q");
  var MENTION = /(^|\s)@([^\s@]{1,40})$/;
  function tokenBeforeCaret() {
    var before = note.value.slice(0, note.selectionStart);
    var m = MENTION.exec(before);
    return m ? { word: m[2], start: before.length - m[2].length - 1 } : null;
  }
  function clearResults() {
    var box = document.getElementById("mention-results");
    if (box) box.innerHTML = "";
  }
  function lookUp() {
    var token = tokenBeforeCaret();
    if (!token) { clearResults(); query.value = ""; return; }
    if (query.value === token.word) return;
    query.value = token.word;
    query.dispatchEvent(new Event("mention"));
  }
  function insertMention(name) {
    var token = tokenBeforeCaret() || { start: note.selectionStart, word: "" };
    var caret = token.start + 1 + token.word.length;
    var text = "@" + name + " ";
    note.value = note.value.slice(0, token.start) + text + note.value.slice(caret);
    var at = token.start + text.length;
    note.focus();
    note.setSelectionRange(at, at);
    query.value = "";
    clearResults();
  }
  if (note && query) {
    var timer = null;
    note.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(lookUp, 200); });
    note.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { clearResults(); }
      if (ev.key === "ArrowDown") {
        var first = document.querySelector("#mention-results .mention-pick");
        if (first) { ev.preventDefault(); first.focus(); }
      }
    });
  }
})();
