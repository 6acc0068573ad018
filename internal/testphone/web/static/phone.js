// The test phone: places a call through the API, sends keys, plays the
// prompts' audio in order and writes the transcript from the events
// stream. No inline script: the panel's CSP allows only 'self'.
(function () {
  "use strict";
  var root = document.getElementById("testphone");
  if (!root) return;
  var base = root.dataset.base || "";
  var msgs = JSON.parse(root.dataset.msgs || "{}");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var form = document.getElementById("tp-form");
  var callerIn = document.getElementById("tp-caller");
  var atIn = document.getElementById("tp-at");
  var draftIn = document.getElementById("tp-draft");
  var callBtn = document.getElementById("tp-call");
  var hangBtn = document.getElementById("tp-hangup");
  var answerBtn = document.getElementById("tp-answer");
  var statusEl = document.getElementById("tp-status");
  var ticketEl = document.getElementById("tp-ticket");
  var list = document.getElementById("tp-transcript");
  var audio = document.getElementById("tp-audio");
  var keys = Array.prototype.slice.call(document.querySelectorAll(".tp-key"));

  var callID = null, stream = null, queue = [], sending = Promise.resolve();
  // awaitingCallback: the caller hung up to be called back; the call's
  // stream goes on with the callback's events.
  var awaitingCallback = false;

  function post(path, body) {
    return fetch(base + "/testphone" + path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      if (res.ok) return res.status === 204 ? {} : res.json();
      return res.json().catch(function () { return {}; }).then(function (b) {
        throw new Error(b.error || res.statusText);
      });
    });
  }

  function setInCall(on) {
    callBtn.disabled = on;
    hangBtn.disabled = !on;
    callerIn.disabled = on;
    if (atIn) atIn.disabled = on;
    keys.forEach(function (k) { k.disabled = !on; });
  }

  function line(text, cls) {
    var li = document.createElement("li");
    li.textContent = text;
    if (cls) li.className = cls;
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
  }

  function describe(e) {
    var t = e.time ? e.time.substr(11, 8) + " " : "";
    var parts = [e.event];
    ["node", "keys", "reason", "result", "group", "operator", "ticket", "outcome"].forEach(function (f) {
      if (e[f]) parts.push(f + "=" + e[f]);
    });
    if (e.open !== undefined) parts.push(e.open ? "open" : "closed");
    if (e.position) parts.push("position=" + e.position);
    if (e.prompt) parts.push("[" + e.prompt.join(", ") + "]");
    if (e.text) parts.push("«" + e.text + "»");
    return t + parts.join(" ");
  }

  // Prompts play one after the other, as the caller hears them; a new
  // prompt event (after a key) replaces what was still queued.
  function playNext() {
    var name = queue.shift();
    if (!name) return;
    audio.src = base + "/testphone/audio/" + name;
    var p = audio.play();
    if (p && p.catch) p.catch(function () { /* autoplay refused: the transcript still shows it */ });
  }
  audio.addEventListener("ended", playNext);
  audio.addEventListener("error", playNext);

  function onEvent(e) {
    line(describe(e));
    if (e.builtin && e.builtin.length) line(msgs.builtin + ": " + e.builtin.join(", "), "builtin");
    if (e.ticket) ticketEl.textContent = e.ticket;
    if (e.event === "prompt") {
      queue = (e.audio || []).slice();
      audio.pause();
      playNext();
    }
    if (e.event === "callback") onCallback(e);
    if (e.event === "outcome" && !awaitingCallback) finish();
  }

  function onCallback(e) {
    switch (e.result) {
    case "requested":
    case "scheduled":
      awaitingCallback = true;
      break;
    case "calling":
      statusEl.textContent = msgs.cbRinging;
      answerBtn.hidden = false;
      hangBtn.disabled = false;
      return;
    case "answered":
      answerBtn.hidden = true;
      setInCall(true);
      statusEl.textContent = msgs.calling;
      return;
    case "no_answer":
      answerBtn.hidden = true;
      statusEl.textContent = msgs.cbNoAnswer;
      return;
    case "failed":
      answerBtn.hidden = true;
      statusEl.textContent = msgs.cbFailed;
      return;
    default:
      return;
    }
    setInCall(false);
    callBtn.disabled = true; // the page waits for the callback
    statusEl.textContent = msgs.cbWaiting;
  }

  function finish() {
    if (stream) { stream.close(); stream = null; }
    callID = null;
    var text = statusEl.textContent;
    if (text !== msgs.cbNoAnswer && text !== msgs.cbFailed) text = msgs.ended;
    awaitingCallback = false;
    answerBtn.hidden = true;
    setInCall(false);
    statusEl.textContent = text;
  }

  function press(k) {
    if (!callID) return;
    var btn = keys.filter(function (b) { return b.dataset.key === k; })[0];
    if (btn) { btn.classList.add("pressed"); setTimeout(function () { btn.classList.remove("pressed"); }, 150); }
    var id = callID;
    // Keys go in order: each request waits for the previous one.
    sending = sending.then(function () {
      return post("/calls/" + encodeURIComponent(id) + "/keys", { keys: k });
    }).catch(function (err) { line(msgs.error + ": " + err.message, "error"); });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (callID) return;
    list.textContent = "";
    ticketEl.textContent = "";
    statusEl.textContent = msgs.placing;
    setInCall(true);
    post("/calls", { caller: callerIn.value, at: atIn ? atIn.value : "", draft: draftIn ? draftIn.value : "" }).then(function (b) {
      callID = b.id;
      statusEl.textContent = msgs.calling;
      stream = new EventSource(base + "/testphone/calls/" + encodeURIComponent(callID) + "/events");
      stream.onmessage = function (m) { onEvent(JSON.parse(m.data)); };
      stream.addEventListener("end", function () { if (callID) finish(); });
    }).catch(function (err) {
      setInCall(false);
      statusEl.textContent = msgs.error + ": " + err.message;
    });
  });

  answerBtn.addEventListener("click", function () {
    if (!callID) return;
    answerBtn.disabled = true;
    post("/calls/" + encodeURIComponent(callID) + "/answer").catch(function (err) {
      line(msgs.error + ": " + err.message, "error");
    }).then(function () { answerBtn.disabled = false; });
  });

  hangBtn.addEventListener("click", function () {
    if (callID) post("/calls/" + encodeURIComponent(callID) + "/hangup").catch(function () {});
  });

  keys.forEach(function (b) {
    b.addEventListener("click", function () { press(b.dataset.key); });
  });

  document.addEventListener("keydown", function (ev) {
    if (!callID || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target === callerIn || ev.target === atIn) return;
    if ("0123456789*#".indexOf(ev.key) >= 0 && ev.key.length === 1) {
      ev.preventDefault();
      press(ev.key);
    }
  });
})();
