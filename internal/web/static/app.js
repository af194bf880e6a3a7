// Brigade dashboard: live sections and the log viewer. Every page works
// without this script; with it, [data-live] elements follow the server's
// events (server-sent events) and the log page follows and filters lines.
(function () {
  "use strict";

  function status(text) {
    var el = document.getElementById("live-status");
    if (el) el.textContent = text;
  }

  // A live section: each "update" carries the section's new HTML.
  function followSection(el, url) {
    var es = new EventSource(url);
    es.addEventListener("update", function (e) {
      // Keep the keyboard where it was: refocus the same link or button.
      var f = document.activeElement, key = null;
      if (f && el.contains(f)) key = f.getAttribute("href") || f.id;
      el.innerHTML = e.data;
      if (key) {
        var again = document.getElementById(key);
        if (!again) {
          var links = el.querySelectorAll("a[href]");
          for (var i = 0; i < links.length; i++) if (links[i].getAttribute("href") === key) again = links[i];
        }
        if (again) again.focus();
      }
      el.dispatchEvent(new CustomEvent("brigade:updated", { bubbles: true }));
      status("Live");
    });
    es.addEventListener("done", function () { es.close(); status("Up to date"); });
    es.addEventListener("gone", function (e) { es.close(); status(e.data); });
    es.onerror = function () { status("Reconnecting…"); };
  }

  // The log viewer: lines arrive as JSON arrays; the search box filters.
  function followLog(pre, url) {
    var box = document.getElementById("q");
    function matches(text) {
      var q = box ? box.value.toLowerCase() : "";
      return q === "" || text.toLowerCase().indexOf(q) >= 0;
    }
    function filter() {
      var spans = pre.querySelectorAll(".l");
      for (var i = 0; i < spans.length; i++) spans[i].classList.toggle("hidden", !matches(spans[i].textContent));
    }
    if (box) box.addEventListener("input", filter);
    if (!url) return;
    var state = document.getElementById("log-state");
    var es = new EventSource(url);
    es.addEventListener("lines", function (e) {
      var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      var lines = JSON.parse(e.data), frag = document.createDocumentFragment();
      for (var i = 0; i < lines.length; i++) {
        var s = document.createElement("span");
        s.className = "l";
        s.textContent = lines[i] + "\n";
        if (!matches(lines[i])) s.classList.add("hidden");
        frag.appendChild(s);
      }
      pre.appendChild(frag);
      if (atEnd) pre.scrollTop = pre.scrollHeight;
      status("Live");
    });
    es.addEventListener("done", function () {
      es.close();
      pre.setAttribute("data-complete", "true");
      if (state) state.textContent = "Complete: the log has ended.";
      status("Up to date");
    });
    es.onerror = function () { status("Reconnecting…"); };
  }

  function start() {
    if (!window.EventSource) return;
    var log = document.getElementById("log");
    if (log) followLog(log, log.getAttribute("data-live"));
    var els = document.querySelectorAll("[data-live]");
    for (var i = 0; i < els.length; i++) {
      var url = els[i].getAttribute("data-live");
      if (url && els[i] !== log) followSection(els[i], url);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
