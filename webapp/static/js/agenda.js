/* My meetings' week grid opens scrolled to the working day (the hour the server marks:
   08:00, or the earliest meeting of the week when that is earlier). Without JavaScript
   the grid opens at midnight and scrolls by hand. */
(function () {
  "use strict";
  var wrap = document.getElementById("agenda-week");
  var hour = wrap && wrap.querySelector("[data-scroll-here]");
  if (!hour || !wrap.offsetParent) return;  // the phone shows the day list instead
  var head = wrap.querySelector(".agenda-head");
  wrap.scrollTop += hour.getBoundingClientRect().top - wrap.getBoundingClientRect().top -
    (head ? head.offsetHeight : 0);
})();
