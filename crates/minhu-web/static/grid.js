// The grid worker's app (/grid). Every report is first a draft in IndexedDB (the
// photo with it), then sent to POST /api/v1/reports with the draft's own
// Idempotency-Key: a draft whose answer was lost on the way back is sent again and the
// server returns the ticket it already made, so each draft becomes one ticket. Drafts
// are sent at once when the network is there, and again whenever it returns (the
// browser's "online" event, and every few seconds while drafts wait). The service
// worker (/grid/sw.js) keeps the app's shell so the page opens offline.
"use strict";

(function () {
  var form = document.getElementById("patrol");
  if (!form) return;
  var words = document.getElementById("grid-words").dataset;
  var result = document.getElementById("patrol-result");
  var net = document.getElementById("net");
  var list = document.getElementById("draft-list");
  var count = document.getElementById("draft-count");
  var error = form.querySelector(".form-error");
  var position = null;
  var sending = false;
  var stopped = false; // signed out: wait for a new sign-in (a reload)

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/grid/sw.js", { scope: "/grid" }).catch(function () {});
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function key() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // ---- IndexedDB: one store of drafts, by their key ----
  var opened = null;
  function db() {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        var request = indexedDB.open("minhu-grid", 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore("drafts", { keyPath: "key" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return opened;
  }
  function store(mode, act) {
    return db().then(function (database) {
      return new Promise(function (resolve, reject) {
        var tx = database.transaction("drafts", mode);
        var answer = act(tx.objectStore("drafts"));
        tx.oncomplete = function () { resolve(answer && answer.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  function drafts() { return store("readonly", function (s) { return s.getAll(); }); }
  function save(draft) { return store("readwrite", function (s) { s.put(draft); }); }
  function remove(draftKey) { return store("readwrite", function (s) { s.delete(draftKey); }); }

  function show() {
    return drafts().then(function (all) {
      count.textContent = String(all.length);
      list.textContent = "";
      all.forEach(function (draft) {
        var item = document.createElement("li");
        item.className = "draft";
        item.textContent = draft.ticket.title + (draft.error ? " — " + words.refused + draft.error : "");
        var drop = document.createElement("button");
        drop.type = "button";
        drop.textContent = words.delete;
        drop.setAttribute("aria-label", words.delete + ": " + draft.ticket.title);
        drop.addEventListener("click", function () { remove(draft.key).then(show); });
        item.appendChild(document.createTextNode(" "));
        item.appendChild(drop);
        list.appendChild(item);
      });
      return all;
    });
  }

  function online(on) {
    net.textContent = on ? words.online + " · " + words.drafts + ": " + count.textContent : words.offline;
    net.className = on ? "muted" : "offline";
  }

  // ---- sending: each draft once, in the order made ----
  function send(draft) {
    var body = new FormData();
    body.append("ticket", new Blob([JSON.stringify(draft.ticket)], { type: "application/json" }));
    if (draft.photo) body.append("photo", draft.photo, draft.photoName || "photo.jpg");
    return fetch("/api/v1/reports", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Idempotency-Key": draft.key, "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: body
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        return { status: response.status, answer: answer };
      });
    });
  }

  function flush() {
    if (sending || stopped) return Promise.resolve();
    sending = true;
    var unreachable = false;
    return drafts().then(function (all) {
      var waiting = all.filter(function (d) { return !d.error; })
        .sort(function (a, b) { return a.made - b.made; });
      return waiting.reduce(function (chain, draft) {
        return chain.then(function (go) {
          if (!go) return false;
          return send(draft).then(function (reply) {
            if (reply.status === 200 || reply.status === 201) {
              result.textContent = words.sent + " " + reply.answer.number;
              return remove(draft.key).then(function () { return true; });
            }
            if (reply.status === 401 || reply.status === 403) {
              stopped = true;
              result.textContent = words.signin;
              return false;
            }
            if (reply.status === 429 || reply.status >= 500) return false;
            // Refused as it is (422): kept, with the reason, until corrected or deleted.
            draft.error = (reply.answer.error && reply.answer.error.message) || String(reply.status);
            return save(draft).then(function () { return true; });
          }, function () {
            unreachable = true;
            return false; // no network: try again later
          });
        });
      }, Promise.resolve(true));
    }).then(show).then(function () {
      online(navigator.onLine && !unreachable);
    }).finally(function () { sending = false; });
  }

  // ---- the form ----
  function shrink(file) {
    // Phones take large photos: send at most 1600 px on the long side, as JPEG.
    if (!file || !window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) { resolve(blob || file); }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }

  var handled = document.getElementById("patrol-handled");
  var handledBox = document.getElementById("patrol-handled-box");
  handled.addEventListener("change", function () {
    handledBox.hidden = !handled.checked;
  });

  document.getElementById("patrol-locate").addEventListener("click", function () {
    var out = document.getElementById("patrol-position");
    if (!navigator.geolocation) { out.textContent = words.nolocation; return; }
    out.textContent = words.locating;
    navigator.geolocation.getCurrentPosition(function (found) {
      position = { lat: found.coords.latitude, lon: found.coords.longitude };
      out.textContent = position.lat.toFixed(6) + ", " + position.lon.toFixed(6);
    }, function (failure) {
      out.textContent = words.nolocation + failure.message;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  var Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  var voice = document.getElementById("patrol-voice");
  if (Recognition) {
    voice.hidden = false;
    voice.addEventListener("click", function () {
      var recognition = new Recognition();
      recognition.lang = document.documentElement.lang === "en" ? "en-US" : "zh-CN";
      recognition.interimResults = false;
      var field = document.getElementById("patrol-description");
      recognition.onresult = function (event) {
        var said = Array.prototype.map.call(event.results, function (r) { return r[0].transcript; }).join("");
        field.value = field.value ? field.value + " " + said : said;
      };
      result.textContent = words.listening;
      recognition.start();
    });
  }

  function problem(message, field) {
    showFault(error, message, field);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    var title = form.elements.title;
    var description = form.elements.description;
    if (!title.value.trim()) return problem(title.labels[0].textContent, title);
    if (!description.value.trim()) return problem(description.labels[0].textContent, description);
    var ticket = {
      channel: "grid",
      kind: "help",
      title: title.value.trim(),
      description: description.value.trim()
    };
    if (form.dataset.region) ticket.region = form.dataset.region;
    if (form.elements.category.value) ticket.category = form.elements.category.value;
    if (form.elements.address.value.trim()) ticket.address = form.elements.address.value.trim();
    if (position) ticket.location = position;
    if (handled.checked) {
      var note = form.elements.note;
      if (!note.value.trim()) return problem(note.labels[0].textContent, note);
      ticket.on_the_spot = { note: note.value.trim() };
    }
    var file = form.elements.photo.files[0];
    shrink(file).then(function (photo) {
      var name = null;
      if (photo) name = photo === file ? file.name : file.name.replace(/\.[^.]*$/, "") + ".jpg";
      var draft = { key: key(), made: Date.now(), ticket: ticket, photo: photo || null, photoName: name };
      return save(draft);
    }).then(function () {
      form.reset();
      handledBox.hidden = true;
      position = null;
      document.getElementById("patrol-position").textContent = "";
      result.textContent = words.saved;
      return show();
    }).then(flush);
  });

  // ---- checks and visits (核查, 回访): each finished with a photo and a note ----
  Array.prototype.forEach.call(document.querySelectorAll("form[data-check]"), function (check) {
    var fault = check.querySelector(".form-error");
    check.addEventListener("submit", function (event) {
      event.preventDefault();
      fault.hidden = true;
      var photo = check.elements.photo.files[0];
      var note = check.elements.note;
      if (!photo) return showFault(fault, check.elements.photo.labels[0].textContent, check.elements.photo);
      if (!note.value.trim()) return showFault(fault, note.labels[0].textContent, note);
      shrink(photo).then(function (small) {
        var body = new FormData();
        body.append("note", note.value.trim());
        body.append("photo", small, small === photo ? photo.name : photo.name.replace(/\.[^.]*$/, "") + ".jpg");
        return fetch(check.getAttribute("data-check"), {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRF-Token": csrf(), "Accept": "application/json" },
          body: body
        });
      }).then(function (response) {
        if (response.ok) { window.location.reload(); return; }
        return response.json().then(function (answer) {
          showFault(fault, (answer.error && answer.error.message) || String(response.status));
        });
      }, function () {
        showFault(fault, words.offline);
      });
    });
  });

  function showFault(fault, message, field) {
    fault.textContent = message;
    fault.hidden = false;
    if (field) field.focus();
  }

  window.addEventListener("online", function () { online(true); flush(); });
  window.addEventListener("offline", function () { online(false); });
  show().then(function () { online(navigator.onLine); return flush(); });
  // A server that was down comes back without an "online" event: look again while
  // drafts wait.
  setInterval(function () {
    if (count.textContent !== "0") flush();
  }, 3000);
})();
