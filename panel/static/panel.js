// Live updates for the panel's pages: the server sends HTML fragments as
// Server-Sent Events, each replacing the element that names its event in
// data-sse-target. No inline script: the Content-Security-Policy forbids it.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
  var main = document.querySelector("[data-sse]");
  if (!main || !window.EventSource) {
    return;
  }
  var source = new EventSource(main.getAttribute("data-sse"));
  document.querySelectorAll("[data-sse-target]").forEach(function (target) {
    // A form the user has typed in is never replaced under their hands
    // (the console's ticket): a notice says the ticket changed meanwhile;
    // saving then shows the conflict with what they typed kept.
    target.addEventListener("input", function (ev) {
      if (ev.target.form) ev.target.form.setAttribute("data-dirty", "1");
    });
    source.addEventListener(target.getAttribute("data-sse-target"), function (ev) {
      if (target.querySelector("form[data-dirty]")) {
        if (!target.querySelector(".stale")) {
          var note = document.createElement("p");
          note.className = "notice stale";
          note.setAttribute("role", "status");
          note.setAttribute("data-testid", "stale");
          note.textContent = target.getAttribute("data-stale-msg") || "";
          target.insertBefore(note, target.firstChild);
        }
        return;
      }
      target.innerHTML = ev.data;
      target.setAttribute("data-updated", String(Date.now()));
    });
  });
  // A stream refused (the session ended, the server restarted) is not
  // retried by the browser: reload the page, which leads to the login if
  // need be.
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) {
      window.setTimeout(function () { window.location.reload(); }, 5000);
    }
  };
  source.addEventListener("expired", function () {
    source.close();
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
  });
})();
