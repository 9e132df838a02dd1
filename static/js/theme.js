// Runs in <head> so the saved theme applies before the first paint (no flash of the wrong theme).
(function () {
  "use strict";
  var KEY = "kodexa-admin-theme";
  // Styles for what app.js will show or hide apply from the first paint, not after a flash.
  document.documentElement.classList.add("js");
  var saved = null;
  try { saved = window.localStorage.getItem(KEY); } catch (e) { /* storage may be disabled */ }
  if (saved === "light" || saved === "dark") {
    document.documentElement.setAttribute("data-theme", saved);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-theme-toggle]");
    if (!button) { return; }
    var current = document.documentElement.getAttribute("data-theme") ||
      (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
    var next = current === "dark" ? "light" : "dark";
    document.documentElement.setAttribute("data-theme", next);
    try { window.localStorage.setItem(KEY, next); } catch (e) { /* ignore */ }
  });
})();
