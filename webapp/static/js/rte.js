/* A small rich-text editor for forms outside the scheduler (account snippets): bold,
   italic, lists, links. The server sanitizes whatever arrives; without JavaScript the
   plain textarea posts the same field. */
(function () {
  "use strict";
  var wraps = document.querySelectorAll(".rte-form .rte");
  if (!wraps.length) return;
  var t = {};
  try { t = JSON.parse(document.getElementById("rte-i18n").textContent); } catch (e) {}
  wraps.forEach(function (wrap) {
    var area = wrap.querySelector("textarea");
    var bar = document.createElement("div");
    bar.className = "rte-toolbar"; bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", t.formatting || "Formatting");
    var editor = document.createElement("div");
    editor.className = "rte-area"; editor.contentEditable = "true";
    editor.setAttribute("role", "textbox"); editor.setAttribute("aria-multiline", "true");
    var label = document.querySelector('label[for="' + area.id + '"]');
    if (label) {
      label.id = area.id + "-label";
      editor.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", function () { editor.focus(); });
    }
    var described = area.getAttribute("aria-describedby");
    if (described) editor.setAttribute("aria-describedby", described);
    if (area.getAttribute("aria-invalid")) editor.setAttribute("aria-invalid", "true");
    editor.innerHTML = area.value;
    function sync() { area.value = editor.innerHTML; }
    [["bold", "B", t.bold], ["italic", "I", t.italic], ["insertUnorderedList", "•", t.bullets],
     ["insertOrderedList", "1.", t.numbers], ["createLink", "🔗", t.link]].forEach(function (b) {
      var btn = document.createElement("button");
      btn.type = "button"; btn.className = "btn btn-sm"; btn.textContent = b[1];
      btn.setAttribute("aria-label", b[2] || b[0]); btn.title = b[2] || b[0];
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
    editor.addEventListener("input", sync);
    area.hidden = true;
    wrap.insertBefore(bar, area);
    wrap.insertBefore(editor, area);
    wrap.closest("form").addEventListener("submit", sync);
  });
})();
