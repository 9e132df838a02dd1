// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  var relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  var UNITS = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

  // One clock: the server renders every time in the user's choice (<html data-clock="utc|local" data-zone>) and
  // this script follows that choice; it never silently switches to the browser's zone. The other clock goes on
  // hover: the browser's local time in UTC mode, UTC in local mode.
  var BROWSER_ZONE = "";
  try { BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
  var html = document.documentElement;
  var SHOWN_ZONE = html.getAttribute("data-clock") === "local" && html.getAttribute("data-zone") || "UTC";
  var OTHER_ZONE = SHOWN_ZONE !== "UTC" ? "UTC" : (BROWSER_ZONE && BROWSER_ZONE !== "UTC" ? BROWSER_ZONE : "");
  var formats = {};

  function stamp(date, zone) {
    // "2026-03-04 15:30:00 GMT+5:30", the same shape as the server's "2026-03-04 10:00:00 UTC".
    var format = formats[zone];
    if (!format) {
      try {
        format = formats[zone] = new Intl.DateTimeFormat("en-US", {
          timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
          second: "2-digit", hourCycle: "h23", timeZoneName: "short" });
      } catch (e) { return ""; }
    }
    var p = {};
    format.formatToParts(date).forEach(function (part) { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second + " " +
      (zone === "UTC" ? "UTC" : p.timeZoneName || zone);
  }

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

  // <time datetime="..." data-local>: the server's text stays (it is in the user's clock); the other clock on
  // hover. data-relative: "3 minutes ago", kept fresh, with the time in both clocks on hover.
  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      var other = OTHER_ZONE ? stamp(date, OTHER_ZONE) : "";
      if (el.hasAttribute("data-relative")) {
        el.textContent = relative(date);
        el.title = stamp(date, SHOWN_ZONE) + (other ? " (" + other + ")" : "");
      } else if (el.hasAttribute("data-local") && other) {
        el.title = other;
      }
    });
  }

  // The clock switch sends the browser's zone along, so "Local" means this browser's zone.
  function fillBrowserZone() {
    document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
      if (BROWSER_ZONE) { input.value = BROWSER_ZONE; }
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

  // Esc closes the header's menu (narrow screens) and puts focus back on its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var menu = document.querySelector("details.app-menu[open]");
    if (!menu || window.getComputedStyle(menu.querySelector("summary")).display === "none") { return; }
    menu.open = false;
    menu.querySelector("summary").focus();
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

  // Whole rows open their execution: a click anywhere but on the row's own controls (its checkbox, links, copy
  // button) or while selecting text. The id stays the real link, for the keyboard and without JavaScript.
  document.addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-href]");
    if (!row || event.defaultPrevented || event.button !== 0) { return; }
    if (event.target.closest("a, button, input, label, select, textarea, summary, [data-copy]")) { return; }
    var selection = window.getSelection && window.getSelection();
    if (selection && String(selection).length) { return; }
    if (event.ctrlKey || event.metaKey || event.shiftKey) {
      window.open(row.getAttribute("data-href"), "_blank", "noopener");
    } else {
      window.location.assign(row.getAttribute("data-href"));
    }
  });

  // The list's bulk bar: shown only while rows are ticked, saying how many ("5 selected · Stop 5…").
  function updateBulkBar(root) {
    (root || document).querySelectorAll("[data-bulk-bar]").forEach(function (bar) {
      var form = bar.closest("form");
      var ticked = form ? form.querySelectorAll("input[name=ids]:checked").length : 0;
      var toStop = form ? form.querySelectorAll("input[name=ids][data-kind=cancel]:checked").length : 0;
      var toReprocess = form ? form.querySelectorAll("input[name=ids][data-kind=reprocess]:checked").length : 0;
      bar.toggleAttribute("data-ticked", ticked > 0);
      var count = bar.querySelector("[data-bulk-count]");
      var stop = bar.querySelector("[data-bulk-stop]");
      var reprocess = bar.querySelector("[data-bulk-reprocess]");
      var hint = bar.querySelector("[data-bulk-hint]");
      if (count) { count.textContent = ticked + " selected"; }
      if (stop) { stop.textContent = "Stop " + toStop + "…"; stop.hidden = toStop === 0; }
      if (reprocess) { reprocess.textContent = "Reprocess " + toReprocess + "…"; reprocess.hidden = toReprocess === 0; }
      if (hint) { hint.hidden = true; }
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[name=ids], [data-select-all]")) { updateBulkBar(); }
  });

  // The created-time preset: the custom dates show only for "Custom range" (without JavaScript they are folded).
  function syncCreatedPreset(select) {
    var range = select.closest(".created-control") && select.closest(".created-control").querySelector("[data-custom-range]");
    if (!range) { return; }
    range.open = select.value === "custom";  // a folded range is not shown at all (app.css, .js)
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-created-preset]")) {
      syncCreatedPreset(event.target);
      if (event.target.value === "custom") {
        var first = event.target.closest(".created-control").querySelector("[data-custom-range] input");
        if (first) { first.focus(); }
      }
    }
  });

  function enhance(root) {
    localizeTimes(root);
    updateBulkBar(root);
    root.querySelectorAll("select[data-created-preset]").forEach(syncCreatedPreset);
  }

  // On a phone the filters start folded (the results come first), unless one of them needs fixing.
  function foldFiltersOnPhones() {
    var panel = document.querySelector("[data-filters-panel]");
    if (panel && !panel.hasAttribute("data-keep-open") && window.matchMedia("(max-width: 700px)").matches) {
      panel.open = false;
    }
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); foldFiltersOnPhones(); fillBrowserZone(); });
  document.addEventListener("htmx:afterSwap", function (event) { localizeTimes(event.target); updateBulkBar(); });
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

// The list's assistant filter applies itself when picked (one step fewer to "failed runs of this assistant"); from
// the keyboard, arrows only move the choice and Enter applies it, so nothing reloads mid-choice.
(function () {
  "use strict";
  var movedByKey = null;
  document.addEventListener("keydown", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-apply-on-pick]")) { return; }
    if (event.key === "Enter") {
      event.preventDefault();
      if (select.form && select.form.requestSubmit) { select.form.requestSubmit(); }
    } else {
      movedByKey = select;
    }
  });
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-apply-on-pick]")) { return; }
    if (movedByKey === select) { movedByKey = null; return; }
    if (select.form && select.form.requestSubmit) { select.form.requestSubmit(); }
  });
  document.addEventListener("pointerdown", function () { movedByKey = null; });
})();
