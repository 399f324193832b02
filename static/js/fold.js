/* Folding toolbars on narrow screens: a button[data-fold="ID"] shows or hides the element ID
   (class "open"); on wide screens the CSS shows the element and hides the button. Legends
   (details.map-fold) start folded on narrow screens. No inline handlers: the CSP runs none. */
(function () {
  "use strict";
  var NARROW = "(max-width: 700px)";
  document.querySelectorAll("button[data-fold]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-fold"));
    if (!target) return;
    button.addEventListener("click", function () {
      var open = target.classList.toggle("open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });
  window.gridmapFoldOnPhones = function (root) {
    if (!window.matchMedia(NARROW).matches) return;
    (root || document).querySelectorAll("details.map-fold[open]").forEach(function (d) { d.open = false; });
  };
  window.gridmapFoldOnPhones();
}());
