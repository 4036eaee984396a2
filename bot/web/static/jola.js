// Jola staff app: small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // A button that asks first ("Cancel this appointment?").
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // A select that gives a conversation to a colleague submits when changed.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-autosubmit]") && target.form) target.form.submit();
  });

  // The reply box counts characters against the channel's limit.
  function count(area) {
    var counter = area.form && area.form.querySelector("[data-counter]");
    if (!counter) return;
    var limit = parseInt(area.getAttribute("data-limit"), 10) || 0;
    counter.textContent = area.value.length + " / " + limit;
    counter.classList.toggle("over", limit > 0 && area.value.length > limit);
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-limit]")) count(event.target);
  });

  // Enter sends, Shift+Enter is a new line (as in the chat apps staff know).
  document.addEventListener("keydown", function (event) {
    var area = event.target;
    if (event.key === "Enter" && !event.shiftKey && area.matches && area.matches("form[data-reply] textarea")) {
      event.preventDefault();
      if (area.value.trim()) area.form.requestSubmit();
    }
  });

  // The timeline opens at its newest message.
  document.addEventListener("DOMContentLoaded", function () {
    var timeline = document.querySelector(".timeline");
    if (timeline) timeline.scrollTop = timeline.scrollHeight;
  });
})();

// Live: the server says which conversation changed; the page fetches what it shows (bot/web/events.py).
(function () {
  "use strict";
  if (!window.EventSource || !document.body.hasAttribute("data-csrf") || !document.querySelector(".topbar")) return;

  var SOUND_KEY = "jola.sound";
  var lastNeeds = null;
  var pending = null;

  function soundOn() { return localStorage.getItem(SOUND_KEY) !== "off"; }

  function chime() {
    if (!soundOn()) return;
    try {
      var audio = new (window.AudioContext || window.webkitAudioContext)();
      [660, 880].forEach(function (freq, i) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, audio.currentTime + i * 0.18);
        gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + i * 0.18 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + i * 0.18 + 0.25);
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + i * 0.18); osc.stop(audio.currentTime + i * 0.18 + 0.3);
      });
    } catch (e) { /* no sound on this browser */ }
  }

  function notify(count) {
    document.title = "(" + count + ") " + document.title.replace(/^\(\d+\) /, "");
    chime();
    if (window.Notification && Notification.permission === "granted") {
      var note = new Notification(document.body.getAttribute("data-needs-title") || "Needs staff", {
        body: document.body.getAttribute("data-needs-body") || "", tag: "jola-needs-staff"
      });
      note.onclick = function () { window.focus(); location.href = "/inbox?show=needs_staff"; };
    }
  }

  function checkCounts() {
    return fetch("/inbox/counts", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (counts) {
        if (!counts) return;
        if (lastNeeds !== null && counts.needs_staff > lastNeeds) notify(counts.needs_staff);
        if (counts.needs_staff === 0) document.title = document.title.replace(/^\(\d+\) /, "");
        lastNeeds = counts.needs_staff;
        document.querySelectorAll("[data-count]").forEach(function (el) {
          var n = counts[el.getAttribute("data-count")];
          if (n !== undefined) el.textContent = n;
        });
      });
  }

  function swap(selectors) {
    return fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        selectors.forEach(function (selector) {
          var now = document.querySelector(selector), next = fresh.querySelector(selector);
          if (!now || !next) return;
          var timeline = selector === ".timeline";
          var atBottom = timeline && now.scrollHeight - now.scrollTop - now.clientHeight < 40;
          now.replaceWith(next);
          if (timeline && atBottom) next.scrollTop = next.scrollHeight;
        });
      });
  }

  function refresh(change) {
    var thread = document.querySelector("[data-live=conversation]");
    if (thread) {
      var mine = thread.getAttribute("data-conversation");
      if (!change || change.conversation === null || String(change.conversation) === mine) {
        return swap([".timeline", ".thread-head", ".client-card"]);
      }
      return null;
    }
    if (document.querySelector("[data-live=inbox]")) return swap([".conversations, .empty", ".tabs"]);
    if (document.querySelector("[data-live=calendar]")) return swap([".day-grid, .week"]);
    return null;
  }

  var pendingChange;
  function changed(change) {
    if (pending) {  // several changes at once: one fetch, of everything the page shows if they differ
      if (!change || !pendingChange || change.conversation !== pendingChange.conversation) pendingChange = null;
      return;
    }
    pendingChange = change;
    pending = setTimeout(function () {
      pending = null;
      checkCounts();
      refresh(pendingChange);
    }, 150);
  }

  var source = new EventSource("/events");
  source.addEventListener("hello", function () {  // (re)connected: catch up on what happened meanwhile
    document.body.setAttribute("data-live-connected", "1");
    checkCounts();
    refresh(null);
  });
  source.onerror = function () { document.body.removeAttribute("data-live-connected"); };
  source.addEventListener("resync", function () { changed(null); });
  source.onmessage = function (event) {
    try { changed(JSON.parse(event.data)); } catch (e) { changed(null); }
  };
  document.body.setAttribute("data-live-ready", "1");

  // The topbar's switches: notifications (asks the browser once) and the sound.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-notifications], [data-sound]");
    if (!button) return;
    if (button.hasAttribute("data-notifications") && window.Notification) {
      Notification.requestPermission().then(function () { labelSwitches(); });
    } else if (button.hasAttribute("data-sound")) {
      localStorage.setItem(SOUND_KEY, soundOn() ? "off" : "on");
      labelSwitches();
    }
  });
  function labelSwitches() {
    var sound = document.querySelector("[data-sound]");
    if (sound) sound.setAttribute("aria-pressed", soundOn() ? "true" : "false");
    var bell = document.querySelector("[data-notifications]");
    if (bell) bell.hidden = !window.Notification || Notification.permission !== "default";
  }
  labelSwitches();
})();

// Saved replies: "/" in a reply box offers them; arrows choose, Enter or a click puts the text in.
(function () {
  "use strict";
  var data = document.getElementById("saved-replies");
  var area = document.getElementById("reply-text");
  var list = document.getElementById("saved-suggestions");
  if (!data || !area || !list) return;
  var saved = [];
  try { saved = JSON.parse(data.textContent) || []; } catch (e) { return; }
  var shown = [], chosen = 0;

  function close() { list.hidden = true; shown = []; }
  function show() {
    var typed = /^\/(\S*)$/.exec(area.value);
    if (!typed || !saved.length) return close();
    var word = typed[1].toLowerCase();
    shown = saved.filter(function (r) { return r.shortcut.indexOf(word) === 0 || (word && r.text.toLowerCase().indexOf(word) >= 0); }).slice(0, 8);
    if (!shown.length) return close();
    chosen = Math.min(chosen, shown.length - 1);
    list.innerHTML = "";
    shown.forEach(function (r, i) {
      var item = document.createElement("li");
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", i === chosen ? "true" : "false");
      var cut = document.createElement("span"); cut.className = "cut"; cut.textContent = "/" + r.shortcut;
      var gist = document.createElement("span"); gist.className = "gist"; gist.textContent = r.text.slice(0, 80);
      item.appendChild(cut); item.appendChild(gist);
      item.addEventListener("mousedown", function (event) { event.preventDefault(); use(i); });
      list.appendChild(item);
    });
    list.hidden = false;
  }
  function use(i) {
    area.value = shown[i].text;
    close();
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.focus();
  }
  area.addEventListener("input", function () { chosen = 0; show(); });
  area.addEventListener("keydown", function (event) {
    if (list.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      chosen = (chosen + (event.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
      show();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation();
      use(chosen);
    } else if (event.key === "Escape") {
      close();
    }
  }, true);
  area.addEventListener("blur", close);
})();
