/* The one small rich-text editor (S9, S10, account snippets): bold, italic, lists, links
   and, where the wrapper names a snippet list (data-snippets="<id of a JSON script>"),
   "Insert snippet…". Every <div class="rte"> holding a <textarea> becomes an editor; the
   textarea stays the field that is posted (and without JavaScript it is the editor).
   The server sanitizes whatever arrives. Labels come from <script id="rte-i18n">
   (macro/forms.html rte_strings). */
(function () {
  "use strict";
  var t = {};
  try { t = JSON.parse(document.getElementById("rte-i18n").textContent); } catch (e) {}
  var LINK = /^(https?:\/\/|mailto:)\S+$/i;
  var count = 0;

  function button(text, label) {
    var btn = document.createElement("button");
    btn.type = "button"; btn.className = "btn btn-sm"; btn.textContent = text;
    if (label) { btn.setAttribute("aria-label", label); btn.title = label; }
    return btn;
  }

  function escapeHtml(s) {
    return s.replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }

  function snippetList(wrap) {
    var source = wrap.dataset.snippets && document.getElementById(wrap.dataset.snippets);
    if (!source) return [];
    try { return JSON.parse(source.textContent || "[]"); } catch (e) { return []; }
  }

  function init(wrap) {
    var area = wrap.querySelector("textarea");
    if (!area || wrap.dataset.rteReady) return;
    wrap.dataset.rteReady = "1";
    var n = ++count;
    var bar = document.createElement("div");
    bar.className = "rte-toolbar"; bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", t.formatting || "Formatting");
    var editor = document.createElement("div");
    editor.className = "rte-area"; editor.contentEditable = "true";
    editor.setAttribute("role", "textbox"); editor.setAttribute("aria-multiline", "true");
    var label = document.querySelector('label[for="' + area.id + '"]');
    if (label) {
      label.id = label.id || area.id + "-label";
      editor.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", function () { editor.focus(); });
    }
    // The help line and the error the server named on the textarea belong to the editor.
    ["aria-describedby", "aria-invalid"].forEach(function (name) {
      var value = area.getAttribute(name);
      if (value) editor.setAttribute(name, value);
    });
    editor.innerHTML = area.value;
    function sync() { area.value = editor.innerHTML; }

    // The selection inside the editor, kept while the link form has the focus.
    var saved = null;
    function keepSelection() {
      var sel = window.getSelection();
      if (sel.rangeCount && editor.contains(sel.getRangeAt(0).commonAncestorContainer)) {
        saved = sel.getRangeAt(0).cloneRange();
      }
    }
    function restoreSelection() {
      editor.focus();
      if (!saved) return;
      var sel = window.getSelection();
      sel.removeAllRanges(); sel.addRange(saved);
    }

    // --- the link form: a small inline popover, not window.prompt() ---
    var linkBox = document.createElement("div");
    linkBox.className = "rte-link"; linkBox.hidden = true;
    linkBox.setAttribute("role", "group");
    linkBox.setAttribute("aria-label", t.link || "Link");
    var linkLabel = document.createElement("label");
    linkLabel.htmlFor = "rte-link-" + n; linkLabel.textContent = t.link_prompt || "https://";
    var linkInput = document.createElement("input");
    linkInput.type = "url"; linkInput.id = "rte-link-" + n; linkInput.placeholder = "https://";
    linkInput.setAttribute("aria-describedby", "rte-link-" + n + "-error");
    var linkError = document.createElement("p");
    linkError.className = "field-error"; linkError.id = "rte-link-" + n + "-error";
    linkError.setAttribute("role", "alert"); linkError.hidden = true;
    var linkAdd = button(t.link_add || "Add link");
    var linkCancel = button(t.cancel || "Cancel");
    var linkRow = document.createElement("div");
    linkRow.className = "inline";
    linkRow.appendChild(linkInput); linkRow.appendChild(linkAdd); linkRow.appendChild(linkCancel);
    linkBox.appendChild(linkLabel); linkBox.appendChild(linkRow); linkBox.appendChild(linkError);
    var linkButton = null;

    function closeLink(focusEditor) {
      linkBox.hidden = true;
      linkError.hidden = true; linkInput.removeAttribute("aria-invalid");
      if (linkButton) linkButton.setAttribute("aria-expanded", "false");
      if (focusEditor) restoreSelection();
    }
    function openLink() {
      keepSelection();
      linkInput.value = "";
      linkBox.hidden = false;
      linkButton.setAttribute("aria-expanded", "true");
      linkInput.focus();
    }
    function addLink() {
      var url = linkInput.value.trim();
      if (!LINK.test(url)) {
        linkError.textContent = t.link_invalid || "https://";
        linkError.hidden = false; linkInput.setAttribute("aria-invalid", "true");
        linkInput.focus();
        return;
      }
      closeLink(true);
      if (saved && !saved.collapsed) {
        document.execCommand("createLink", false, url);
      } else {
        document.execCommand("insertHTML", false,
          '<a href="' + escapeHtml(url) + '">' + escapeHtml(url) + "</a>");
      }
      sync();
    }
    linkAdd.addEventListener("click", addLink);
    linkCancel.addEventListener("click", function () { closeLink(true); });
    linkInput.addEventListener("keydown", function (ev) {
      // Enter adds the link: it must not submit the form the editor is in.
      if (ev.key === "Enter") { ev.preventDefault(); addLink(); }
      if (ev.key === "Escape") { ev.preventDefault(); closeLink(true); }
    });

    [["bold", "B", t.bold], ["italic", "I", t.italic], ["insertUnorderedList", "•", t.bullets],
     ["insertOrderedList", "1.", "1. " + (t.numbers || "Numbered list")], ["createLink", "🔗", t.link]].forEach(function (b) {
      var btn = button(b[1], b[2] || b[0]);
      if (b[0] === "createLink") {
        linkButton = btn;
        btn.setAttribute("aria-expanded", "false");
        btn.setAttribute("aria-controls", "rte-link-box-" + n);
        btn.addEventListener("click", function () {
          if (linkBox.hidden) openLink(); else closeLink(true);
        });
      } else {
        btn.addEventListener("click", function () {
          editor.focus();
          document.execCommand(b[0]);
          sync();
        });
      }
      bar.appendChild(btn);
    });
    linkBox.id = "rte-link-box-" + n;

    var snippets = snippetList(wrap);
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
    editor.addEventListener("keyup", keepSelection);
    editor.addEventListener("mouseup", keepSelection);
    area.hidden = true;
    wrap.insertBefore(bar, area);
    wrap.insertBefore(linkBox, area);
    wrap.insertBefore(editor, area);
    var form = wrap.closest("form");
    if (form) form.addEventListener("submit", sync);
  }

  function initAll() { document.querySelectorAll(".rte").forEach(init); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
