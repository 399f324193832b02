/* The print page's toolbar: the 打印 button (no inline handler: the CSP runs none). */
document.getElementById("print-button").addEventListener("click", function () { window.print(); });
