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
    source.addEventListener(target.getAttribute("data-sse-target"), function (ev) {
      // The console's call box holds a form: it is only replaced when the
      // call changes (the server sends it only then).
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
