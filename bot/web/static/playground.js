// Jola playground: chat with the business's own bot as a client would (bot/web/playground.py).
// What the tester writes is stored as a delivery; the page fetches the conversation when the server says
// something changed (/events), and draws each reply as the chosen channel draws it.
(function () {
  "use strict";
  var root = document.querySelector("[data-playground]");
  if (!root || !window.fetch) return;

  var channel = root.getAttribute("data-channel");
  var run = root.getAttribute("data-run");
  var csrf = document.body.getAttribute("data-csrf") || "";
  var thread = root.querySelector("[data-thread]");
  var sheet = root.querySelector("[data-sheet]");
  var compose = root.querySelector("[data-compose]");
  var input = compose.querySelector("input[name=text]");
  var resetForm = root.querySelector("[data-reset]");
  var hint = thread.querySelector(".pg-hint");

  var lastId = 0;
  var conversation = null;
  var fetching = false;
  var again = false;
  var waiting = null;   // the poll that backs up the event stream while a reply is awaited
  var handedShown = false;

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function post(url, fields) {
    var body = new URLSearchParams();
    Object.keys(fields).forEach(function (key) { body.set(key, fields[key]); });
    body.set("csrf_token", csrf);
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" }
    });
  }

  function scrollDown() { thread.scrollTop = thread.scrollHeight; }

  // ------------------------------------------------------------------------------------ what is said

  function send(fields) {
    fields.channel = channel;
    fields.run = run;
    dropChips();
    closeSheet();
    typing(true);
    return post("/playground/messages", fields).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      fetchNew();
    }).catch(function () {
      typing(false);
      note(root.getAttribute("data-failed"), "pg-error");
    });
  }

  function choose(option) { send({ choice_id: option.id, title: option.title }); }

  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text: text });
  });

  resetForm.addEventListener("submit", function (event) {
    event.preventDefault();
    post("/playground/reset", { channel: channel, run: run })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        run = String(data.run);
        compose.querySelector("input[name=run]").value = run;
        lastId = 0;
        conversation = null;
        handedShown = false;
        typing(false);
        closeSheet();
        thread.innerHTML = "";
        if (hint) thread.appendChild(hint);
        input.focus();
      });
  });

  // Leaving the page ends the test: its bookings stop holding their times.
  window.addEventListener("pagehide", function () {
    if (!lastId || !navigator.sendBeacon) return;
    var form = new FormData();
    form.set("csrf_token", csrf);
    form.set("channel", channel);
    form.set("run", run);
    navigator.sendBeacon("/playground/reset", form);
  });

  // ----------------------------------------------------------------------------------- what comes back

  function fetchNew() {
    if (fetching) { again = true; return; }
    fetching = true;
    var url = "/playground/messages?channel=" + encodeURIComponent(channel) + "&run=" + encodeURIComponent(run) +
      "&after=" + lastId;
    var asked = run;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || asked !== run) return;  // started over meanwhile
        conversation = data.conversation;
        data.messages.forEach(add);
        if (data.needs_staff && !handedShown) {
          handedShown = true;
          typing(false);
          note(root.getAttribute("data-handed"), "pg-note");
        }
      })
      .catch(function () { /* the next change or poll tries again */ })
      .then(function () {
        fetching = false;
        if (again) { again = false; fetchNew(); }
      });
  }

  function add(message) {
    if (message.id <= lastId) return;
    lastId = message.id;
    if (hint && hint.parentNode) hint.remove();
    var mine = message.direction === "in";
    if (!mine) { typing(false); dropChips(); }
    message.bubbles.forEach(function (bubble, index) {
      var last = index === message.bubbles.length - 1;
      thread.insertBefore(draw(bubble, mine, last ? message.at : null), typingRow());
      if (bubble.quick_replies && bubble.quick_replies.length && last) chips(bubble.quick_replies);
    });
    if (mine) typing(true);
    scrollDown();
  }

  function draw(bubble, mine, at) {
    var row = make("li", "pg-msg " + (mine ? "pg-client" : "pg-bot"));
    var box = make("div", "pg-bubble");
    if (bubble.header) box.appendChild(make("strong", "pg-header", bubble.header));
    box.appendChild(make("p", "pg-text", bubble.text));
    if (bubble.footer) box.appendChild(make("small", "pg-footer", bubble.footer));
    if (at) box.appendChild(make("span", "pg-time", at));
    row.appendChild(box);
    if (bubble.buttons && bubble.buttons.length) {
      var buttons = make("div", "pg-buttons");
      bubble.buttons.forEach(function (option) {
        var button = make("button", "pg-button", option.title);
        button.type = "button";
        button.addEventListener("click", function () { choose(option); });
        buttons.appendChild(button);
      });
      // WhatsApp's reply buttons hang under the bubble; Messenger's button template holds them inside.
      (channel === "whatsapp" ? row : box).appendChild(buttons);
    }
    if (bubble.list) {
      var open = make("button", "pg-list-open", "☰ " + bubble.list.button);
      open.type = "button";
      open.addEventListener("click", function () { openSheet(bubble.list); });
      box.appendChild(open);
    }
    return row;
  }

  // Quick replies: chips under the latest message, gone once anything else is said.
  function chips(options) {
    var row = make("li", "pg-chips");
    options.forEach(function (option) {
      var chip = make("button", "pg-chip", option.title);
      chip.type = "button";
      chip.addEventListener("click", function () { choose(option); });
      row.appendChild(chip);
    });
    thread.insertBefore(row, typingRow());
  }

  function dropChips() {
    thread.querySelectorAll(".pg-chips").forEach(function (row) { row.remove(); });
  }

  // A WhatsApp list: its button opens the rows; tapping one answers with it.
  function openSheet(list) {
    sheet.innerHTML = "";
    var head = make("div", "pg-sheet-head");
    head.appendChild(make("strong", null, list.button));
    var close = make("button", "pg-sheet-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", root.getAttribute("data-close"));
    close.addEventListener("click", closeSheet);
    head.appendChild(close);
    sheet.appendChild(head);
    var rows = make("ul", "pg-rows");
    list.rows.forEach(function (option) {
      var item = make("li");
      var button = make("button", "pg-row");
      button.type = "button";
      button.appendChild(make("span", "pg-row-title", option.title));
      if (option.description) button.appendChild(make("span", "pg-row-description", option.description));
      button.addEventListener("click", function () { choose(option); });
      item.appendChild(button);
      rows.appendChild(item);
    });
    sheet.appendChild(rows);
    sheet.hidden = false;
    var first = sheet.querySelector(".pg-row");
    if (first) first.focus();
  }

  function closeSheet() { sheet.hidden = true; sheet.innerHTML = ""; }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !sheet.hidden) closeSheet();
  });

  function note(text, className) {
    thread.insertBefore(make("li", className, text), typingRow());
    scrollDown();
  }

  // "The bot is writing…" while a reply is awaited; a slow poll backs the event stream up meanwhile.
  var typingLine = null;
  function typingRow() { return typingLine && typingLine.parentNode ? typingLine : null; }
  function typing(on) {
    if (on && !typingRow()) {
      typingLine = make("li", "pg-typing", root.getAttribute("data-typing"));
      thread.appendChild(typingLine);
      scrollDown();
    } else if (!on && typingRow()) {
      typingLine.remove();
    }
    if (on && !waiting) {
      var tries = 0;
      waiting = setInterval(function () {
        tries += 1;
        if (!typingRow() || tries > 20) { clearInterval(waiting); waiting = null; typing(false); return; }
        fetchNew();
      }, 1500);
    }
  }

  // ---------------------------------------------------------------------------------------- live

  if (window.EventSource) {
    var source = new EventSource("/events");
    source.addEventListener("hello", function () { root.setAttribute("data-pg-live", "1"); fetchNew(); });
    source.addEventListener("resync", fetchNew);
    source.onmessage = function (event) {
      var change = null;
      try { change = JSON.parse(event.data); } catch (e) { /* fetch anyway */ }
      if (!change || change.conversation === null || conversation === null || change.conversation === conversation) {
        fetchNew();
      }
    };
    window.addEventListener("pagehide", function () { source.close(); });
  }
  input.focus();
})();
