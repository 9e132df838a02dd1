// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  var relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  var absoluteFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  var UNITS = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

  function relative(date) {
    var seconds = (date.getTime() - Date.now()) / 1000;
    for (var i = 0; i < UNITS.length; i++) {
      var unit = UNITS[i];
      if (Math.abs(seconds) >= unit[1] || unit[0] === "second") {
        return relativeFormat.format(Math.round(seconds / unit[1]), unit[0]);
      }
    }
    return "";
  }

  // <time datetime="..." data-local> shows the viewer's local time, UTC on hover (title); data-relative shows
  // "3 min ago" with both on hover.
  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      var utc = date.toISOString().slice(0, 19).replace("T", " ") + " UTC";
      if (el.hasAttribute("data-relative")) {
        // "3 min ago" in the cell; the viewer's own clock time, and UTC, on hover.
        el.textContent = relative(date);
        el.title = absoluteFormat.format(date) + " (" + utc + ")";
      } else if (el.hasAttribute("data-local")) {
        el.textContent = absoluteFormat.format(date);
        el.title = utc;
      }
    });
  }

  function copyText(text, button) {
    var done = function () {
      var previous = button.getAttribute("aria-label") || "Copy";
      button.classList.add("copied");
      button.setAttribute("aria-label", "Copied");
      window.setTimeout(function () { button.classList.remove("copied"); button.setAttribute("aria-label", previous); }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* ignore */ }
      document.body.removeChild(area);
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (button) {
      event.preventDefault();
      copyText(button.getAttribute("data-copy"), button);
    }
  });

  // Dialogs: a link with data-dialog-open="<id>" opens that <dialog> as a modal; without JavaScript the link
  // leads to a page with the same form. Focus moves to the first field and returns to the opener on close
  // (Esc, "Keep running" or after submitting).
  function dialogOpen(dialog, opener) {
    if (typeof dialog.showModal !== "function") { return false; }
    dialog.showModal();
    var first = dialog.querySelector("select, textarea, input:not([type=hidden]), button");
    if (first) { first.focus(); }
    dialog.addEventListener("close", function () { opener.focus(); }, { once: true });
    return true;
  }
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && dialogOpen(dialog, opener)) { event.preventDefault(); }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    var owner = closer && closer.closest("dialog");
    if (owner) { event.preventDefault(); owner.close(); }
  });
  // A link that looks like a button answers Space as a button would.
  document.addEventListener("keydown", function (event) {
    if (event.key !== " ") { return; }
    var opener = event.target.closest && event.target.closest("a[data-dialog-open]");
    if (opener) { event.preventDefault(); opener.click(); }
  });

  // Checkboxes with data-select-all toggle every checkbox named by its value.
  document.addEventListener("change", function (event) {
    var master = event.target.closest("[data-select-all]");
    if (!master) { return; }
    document.querySelectorAll("input[type=checkbox][name='" + master.getAttribute("data-select-all") + "']")
      .forEach(function (box) { if (!box.disabled) { box.checked = master.checked; } });
  });

  // Keyboard: "/" focuses the search box.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    var search = document.querySelector("[data-search]");
    if (search) { event.preventDefault(); search.focus(); search.select(); }
  });

  // Polling (hx-trigger="every Ns [...]") is skipped while the tab is hidden; refresh at once on return.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      document.querySelectorAll("[data-live]").forEach(function (el) {
        if (window.htmx) { window.htmx.trigger(el, "panel:visible"); }
      });
    }
  });
  document.addEventListener("htmx:confirm", function (event) {
    var source = event.detail && event.detail.elt;
    if (!source || !source.hasAttribute("data-live")) { return; }
    // Hidden tab: nothing to watch. Ticked rows: a refresh would throw the selection away.
    if (document.visibilityState === "hidden" || source.querySelector("input[name=ids]:checked")) {
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () { localizeTimes(document); });
  document.addEventListener("htmx:afterSwap", function (event) { localizeTimes(event.target); });
  window.setInterval(function () {
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date.getTime())) { el.textContent = relative(date); }
    });
  }, 30000);
})();

// A form marked data-autosubmit sends itself once it appears (the step a person already asked for, e.g. the reprocess
// after a cancel); without JavaScript it is an ordinary button.
(function () {
  "use strict";
  function submitMarked(root) {
    root.querySelectorAll("form[data-autosubmit]:not([data-submitted])").forEach(function (form) {
      form.setAttribute("data-submitted", "");
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { submitMarked(document); });
  document.addEventListener("htmx:afterSwap", function () { submitMarked(document); });
})();
