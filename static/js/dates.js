/* Dates and months in Chinese form whatever the browser's language: input[data-date] reads and
   sends 2026-12-04; input[data-month] sends 2026-12 and shows 2026年12月. The inputs are text
   inputs with a pattern, so without this script they still take the same form by hand. */
(function () {
  "use strict";
  if (!window.flatpickr) return;
  var zh = window.flatpickr.l10ns.zh;
  document.querySelectorAll("input[data-date]").forEach(function (input) {
    window.flatpickr(input, {locale: zh, dateFormat: "Y-m-d", allowInput: true, disableMobile: true});
  });
  document.querySelectorAll("input[data-month]").forEach(function (input) {
    window.flatpickr(input, {
      locale: zh, disableMobile: true, altInput: true, altInputClass: input.className + " month-shown",
      plugins: [new window.monthSelectPlugin({shorthand: false, dateFormat: "Y-m", altFormat: "Y年n月"})]
    });
  });
}());
