// minhu's one script for every page (the CSP allows no inline scripts). It turns a
// form with data-api="URL" into a JSON request to the API, so every page writes
// through the same checked API as other programs:
//   name="citizen.phone"      -> {"citizen": {"phone": ...}} (dots nest)
//   type=checkbox             -> true / false
//   checkboxes with data-list -> the list of the checked ones' values (form="ID" puts
//                                a table's row boxes in a form outside the table)
//   data-type="bool"          -> "true"/"false" as a boolean; "number" -> a number;
//   <select multiple>        -> a list of the chosen values
//   empty fields are left out (the API then uses its default)
// On success: data-then="reload" reloads; data-then="go:/path/{number}" navigates;
// data-done="TEMPLATE-ID" data-out="ID" shows the template, filled from the answer
// ([data-field="a.b"] gets the text, [data-href="/x/{a}"] the link, [data-each="list"]
// its inner template once per item of the list). On failure the
// API's message goes to the form's .form-error (role=alert), so screen readers hear it.
"use strict";

(function () {
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  function put(target, path, value) {
    var keys = path.split(".");
    var last = keys.pop();
    keys.forEach(function (key) {
      if (typeof target[key] !== "object" || target[key] === null) target[key] = {};
      target = target[key];
    });
    target[last] = value;
  }

  function pick(source, path) {
    return path.split(".").reduce(function (value, key) {
      return value == null ? undefined : value[key];
    }, source);
  }

  // The JSON of a form's fields, leaving out the disabled ones (a field inside a
  // disabled fieldset too) and those inside the element the submitting button names
  // in data-without (the console's "create" button leaves the answer out).
  function formJson(form, submitter) {
    var body = {};
    var without = submitter && submitter.getAttribute("data-without");
    var left = without ? document.getElementById(without) : null;
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.matches(":disabled") || field.type === "submit") return;
      if (left && left.contains(field)) return;
      if (field.type === "radio" && !field.checked) return;
      var type = field.getAttribute("data-type");
      var value;
      if (field.type === "checkbox" && field.hasAttribute("data-list")) {
        // Boxes sharing a name (rows picked for a bulk action): the checked values.
        var list = pick(body, field.name) || [];
        if (field.checked) list.push(field.value);
        value = list;
      } else if (field.type === "checkbox") {
        value = field.checked;
      } else if (field.type === "select-multiple") {
        value = Array.prototype.map.call(field.selectedOptions, function (option) {
          return option.value;
        });
        if (!value.length) return;
      } else {
        value = field.value.trim();
        if (value === "") return;
        if (type === "bool") value = value === "true";
        else if (type === "number") value = Number(value);
      }
      put(body, field.name, value);
    });
    return body;
  }

  function fill(template, answer) {
    var node = template.content.cloneNode(true);
    node.querySelectorAll("[data-field]").forEach(function (el) {
      el.textContent = pick(answer, el.getAttribute("data-field"));
    });
    node.querySelectorAll("[data-href]").forEach(function (el) {
      el.setAttribute(
        "href",
        el.getAttribute("data-href").replace(/\{([\w.]+)\}/g, function (_, path) {
          return encodeURIComponent(pick(answer, path));
        })
      );
    });
    // A list in the answer: [data-each="path"] gets its inner template once per item
    // (after the fields above, which the items' own fields are not).
    node.querySelectorAll("[data-each]").forEach(function (list) {
      var row = list.querySelector("template");
      (pick(answer, list.getAttribute("data-each")) || []).forEach(function (item) {
        list.appendChild(fill(row, item));
      });
      row.remove();
    });
    return node;
  }

  function showError(form, message) {
    var box = form.querySelector(".form-error");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
  }

  // Starts sending a form instead of the browser: its own checks first (not of the
  // fields the submitting button leaves out), the last error hidden, the button held
  // until the answer. Returns the submitting button; null when the form is not valid.
  function begin(form, event) {
    event.preventDefault();
    var button = event.submitter || form.querySelector('[type="submit"]');
    var without = button && button.getAttribute("data-without");
    var left = without ? document.getElementById(without) : null;
    // Fields the submitting button leaves out are not checked either (the button is
    // formnovalidate, so the browser leaves the checking to this).
    if (left && !left.disabled) {
      left.disabled = true;
      var valid = form.reportValidity();
      left.disabled = false;
      if (!valid) return null;
    } else if (!form.reportValidity()) {
      return null;
    }
    var error = form.querySelector(".form-error");
    if (error) error.hidden = true;
    if (button) button.disabled = true;
    return button;
  }

  // A request's headers: its body's type and the session's CSRF token.
  function headersFor(type) {
    var headers = { "Content-Type": type };
    var csrf = csrfToken();
    if (csrf) headers["X-CSRF-Token"] = csrf;
    return headers;
  }

  function submit(form, event) {
    var button = begin(form, event);
    if (!button) return;
    var headers = headersFor("application/json");
    var url = form.getAttribute("data-api");
    var body = JSON.stringify(formJson(form, button));
    // Photos go with the form in one multipart request to the file input's endpoint;
    // the browser sets the multipart Content-Type with its boundary.
    var photos = form.querySelector('input[type="file"][data-photos]');
    if (photos && photos.files.length) {
      var data = new FormData();
      data.append("ticket", new Blob([body], { type: "application/json" }));
      Array.prototype.forEach.call(photos.files, function (file) {
        data.append("photo", file, file.name);
      });
      delete headers["Content-Type"];
      url = photos.getAttribute("data-photos");
      body = data;
    }
    fetch(url, {
      method: "POST",
      headers: headers,
      credentials: "same-origin",
      body: body,
    })
      .then(function (response) {
        return response.text().then(function (text) {
          var answer = {};
          try {
            answer = text ? JSON.parse(text) : {};
          } catch (_) {
            answer = { error: { message: text } };
          }
          if (!response.ok) {
            var detail = answer.error || {};
            throw new Error((detail.field ? detail.field + ": " : "") + (detail.message || response.status));
          }
          return answer;
        });
      })
      .then(function (answer) {
        var then = form.getAttribute("data-then") || "";
        if (then === "reload") {
          window.location.reload();
          return;
        }
        if (then.indexOf("go:") === 0) {
          window.location.assign(then.slice(3).replace(/\{([\w.]+)\}/g, function (_, path) {
            return encodeURIComponent(pick(answer, path));
          }));
          return;
        }
        var template = document.getElementById(form.getAttribute("data-done"));
        var out = document.getElementById(form.getAttribute("data-out"));
        if (template && out) {
          out.replaceChildren(fill(template, answer));
          var focus = out.querySelector("h2, p");
          if (focus) {
            focus.setAttribute("tabindex", "-1");
            focus.focus();
          }
        }
        if (form.hasAttribute("data-reset")) form.reset();
        if (button) button.disabled = false;
      })
      .catch(function (failure) {
        showError(form, failure.message);
        if (button) button.disabled = false;
      });
  }

  // A checkbox with data-disables="ID" turns the fields inside ID off while checked
  // (an anonymous report must not send a phone or name).
  function wireDisables(box) {
    var target = document.getElementById(box.getAttribute("data-disables"));
    if (!target) return;
    var sync = function () {
      target.querySelectorAll("input, select, textarea").forEach(function (field) {
        field.disabled = box.checked;
      });
    };
    box.addEventListener("change", sync);
    sync();
  }

  // One question per step (easy mode): show one fieldset at a time, with Back and Next.
  function wireSteps(form) {
    var steps = Array.prototype.slice.call(form.querySelectorAll(".step"));
    var submitButton = form.querySelector('[type="submit"]');
    var zh = document.documentElement.lang !== "en";
    var current = 0;
    var nav = document.createElement("div");
    nav.className = "step-nav";
    var back = document.createElement("button");
    back.type = "button";
    back.textContent = zh ? "上一步" : "Back";
    var next = document.createElement("button");
    next.type = "button";
    next.className = "primary";
    next.textContent = zh ? "下一步" : "Next";
    nav.append(back, next);
    submitButton.before(nav);
    function show(index) {
      current = index;
      steps.forEach(function (step, i) {
        step.hidden = i !== index;
      });
      back.hidden = index === 0;
      next.hidden = index === steps.length - 1;
      submitButton.hidden = index !== steps.length - 1;
      var legend = steps[index].querySelector("legend");
      legend.setAttribute("tabindex", "-1");
      legend.focus();
    }
    back.addEventListener("click", function () {
      show(current - 1);
    });
    next.addEventListener("click", function () {
      var fields = steps[current].querySelectorAll("input, select, textarea");
      for (var i = 0; i < fields.length; i++) {
        if (!fields[i].reportValidity()) return;
      }
      show(current + 1);
    });
    show(0);
  }

  // An inbox keeps itself current: the server says when it changed (server-sent events).
  function wireLive(region) {
    if (!window.EventSource) return;
    var source = new EventSource(region.getAttribute("data-live"));
    source.addEventListener("changed", function () {
      region.hidden = false;
    });
  }

  // A console with data-calls="URL" hears the agent's ringing calls: the caller and
  // their latest tickets at once, with the link that opens the call (its id, never
  // the phone, in the URL).
  function wireCalls(region) {
    if (!window.EventSource) return;
    var row = document.getElementById(region.getAttribute("data-row"));
    var list = region.querySelector("ul");
    var source = new EventSource(region.getAttribute("data-calls"));
    source.addEventListener("call", function (event) {
      var call = JSON.parse(event.data);
      region.querySelector("[data-field=caller]").textContent = call.caller;
      var link = region.querySelector("a[data-href]");
      link.setAttribute("href", link.getAttribute("data-href").replace("{call_id}", encodeURIComponent(call.call_id)));
      list.replaceChildren.apply(list, (call.history || []).map(function (ticket) {
        return fill(row, ticket);
      }));
      region.hidden = false;
    });
  }

  // A field with data-lookup="URL" fetches URL + its value when it changes and lists
  // the answer's "tickets" in data-out with the template data-row (the caller's history).
  function wireLookup(field) {
    var out = document.getElementById(field.getAttribute("data-out"));
    var row = document.getElementById(field.getAttribute("data-row"));
    var empty = document.getElementById(field.getAttribute("data-empty"));
    var labels = JSON.parse(field.getAttribute("data-labels") || "{}");
    var zone = field.getAttribute("data-zone");
    var lang = field.getAttribute("data-lang") || "zh-CN";
    field.addEventListener("change", function () {
      var value = field.value.trim();
      if (!value || !out || !row) return;
      fetch(field.getAttribute("data-lookup") + encodeURIComponent(value), { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : { tickets: [] };
        })
        .then(function (answer) {
          var rows = (answer.tickets || []).map(function (ticket) {
            // The API sends codes and UTC; people read labels and the city's time.
            ticket.status_label = labels[ticket.status] || ticket.status;
            ticket.created_local = new Date(ticket.created_at).toLocaleString(lang, {
              timeZone: zone || undefined,
              dateStyle: "medium",
              timeStyle: "short",
            });
            return fill(row, ticket);
          });
          if (rows.length === 0 && empty) rows = [empty.content.cloneNode(true)];
          out.replaceChildren.apply(out, rows);
        });
    });
  }

  function choose(select, value) {
    var known = Array.prototype.some.call(select.options, function (option) {
      return option.value === value;
    });
    if (!known) {
      var option = document.createElement("option");
      option.value = value;
      option.textContent = value;
      select.append(option);
    }
    select.value = value;
  }

  // An element with data-suggest="URL" asks the API what the demand being typed reads
  // as (its place, likely categories) whenever a field named in data-from (ids)
  // changes, and shows it with the templates data-place and data-row; a row's button
  // puts its category into the select data-target.
  function wireSuggest(box) {
    var ids = box.getAttribute("data-from").split(",");
    var place = document.getElementById(box.getAttribute("data-place"));
    var row = document.getElementById(box.getAttribute("data-row"));
    var target = document.getElementById(box.getAttribute("data-target"));
    var unitRow = document.getElementById(box.getAttribute("data-unit-row"));
    var timer = null;
    function ask() {
      var query = ids
        .map(function (id) {
          var field = document.getElementById(id);
          return encodeURIComponent(field.name) + "=" + encodeURIComponent(field.value.trim());
        })
        .join("&");
      fetch(box.getAttribute("data-suggest") + "?" + query, { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (answer) {
          if (!answer) return;
          var parts = [];
          if (answer.place && place) parts.push(fill(place, answer));
          (answer.categories || []).forEach(function (suggested) {
            var node = fill(row, suggested);
            var use = node.querySelector("button");
            if (use && target) {
              use.addEventListener("click", function () {
                choose(target, suggested.category);
              });
            }
            parts.push(node);
          });
          if (unitRow) {
            (answer.units || []).forEach(function (unit) {
              parts.push(fill(unitRow, unit));
            });
          }
          box.replaceChildren.apply(box, parts);
        });
    }
    // Asked as the words are typed, once typing pauses.
    function later() {
      clearTimeout(timer);
      timer = setTimeout(ask, 400);
    }
    ids.forEach(function (id) {
      document.getElementById(id).addEventListener("input", later);
    });
  }

  // An element with data-when="SELECT_ID=VALUE" is shown and enabled only while that
  // select holds that value (the console's answer-now box, for consultations).
  function wireWhen(box) {
    var rule = box.getAttribute("data-when").split("=");
    var select = document.getElementById(rule[0]);
    if (!select) return;
    function sync() {
      var on = select.value === rule[1];
      box.hidden = !on;
      box.disabled = !on;
    }
    select.addEventListener("change", sync);
    sync();
  }

  // A list with data-kb="URL" shows knowledge-base articles for what is being typed in
  // the fields data-from (ids), raised for the category in data-category, as the agent
  // types (a pause of 300 ms asks once). A row's button picks the article: the form
  // data-form then opens the new ticket with ?article=ID, whose answer form cites it.
  function wireKb(list) {
    var ids = list.getAttribute("data-from").split(",");
    var category = document.getElementById(list.getAttribute("data-category"));
    var row = document.getElementById(list.getAttribute("data-row"));
    var empty = document.getElementById(list.getAttribute("data-empty"));
    var picked = document.getElementById("kb-picked");
    var status = document.getElementById("kb-chosen");
    var form = document.getElementById(list.getAttribute("data-form"));
    var then = form ? form.getAttribute("data-then") : "";
    var timer = null;
    var asked = "";
    // Picking an article makes the demand a consultation answered now: the
    // answer-now box opens with the article's text, which the agent may edit.
    function answerWith(hit) {
      var text = document.getElementById("answer-text");
      var article = document.getElementById("answer-article");
      var kind = document.getElementById("kind");
      if (!text || !article || !kind) return;
      kind.value = "consultation";
      kind.dispatchEvent(new Event("change"));
      text.value = hit.article.body;
      article.value = hit.article.id;
      var source = document.getElementById("answer-source");
      if (source && picked) source.replaceChildren(fill(picked, hit));
    }
    function ask() {
      var text = ids
        .map(function (id) {
          return document.getElementById(id).value.trim();
        })
        .join(" ")
        .trim();
      var url = list.getAttribute("data-kb") + "?limit=3&text=" + encodeURIComponent(text);
      if (category && category.value) url += "&category=" + encodeURIComponent(category.value);
      if (!text || url === asked) return;
      asked = url;
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : { suggestions: [] };
        })
        .then(function (answer) {
          if (url !== asked) return;
          var rows = (answer.suggestions || []).map(function (hit) {
            hit.percent = Math.round(hit.confidence * 100);
            hit.words = (hit.matched || []).join("、");
            var node = fill(row, hit);
            var use = node.querySelector("button");
            use.addEventListener("click", function () {
              list.querySelectorAll("button[aria-pressed]").forEach(function (b) {
                b.setAttribute("aria-pressed", "false");
              });
              use.setAttribute("aria-pressed", "true");
              if (form) form.setAttribute("data-then", then + "?article=" + encodeURIComponent(hit.article.id));
              if (status && picked) status.replaceChildren(fill(picked, hit));
              answerWith(hit);
            });
            return node;
          });
          if (rows.length === 0 && empty) rows = [empty.content.cloneNode(true)];
          list.replaceChildren.apply(list, rows);
        });
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(ask, 300);
    }
    ids.forEach(function (id) {
      document.getElementById(id).addEventListener("input", later);
    });
    if (category) category.addEventListener("change", later);
  }

  // The citizens' assistant (a section with data-assistant="URL", hidden until this
  // script shows it): each question sends the whole conversation; the answer and its
  // source are read out by the log (aria-live). After the first answer the hand-over
  // form offers to open a ticket with the conversation.
  function wireAssistant(box) {
    var url = box.getAttribute("data-assistant");
    var lang = box.getAttribute("data-lang");
    var log = box.querySelector(".chat");
    var ask = box.querySelector("form.ask");
    var handover = box.querySelector("form.handover");
    var question = ask.querySelector("textarea");
    var messages = [];
    var conversation = null;
    function template(id, data) {
      return fill(document.getElementById(id), data);
    }
    function send(body, form) {
      var error = form.querySelector(".form-error");
      error.hidden = true;
      var button = form.querySelector('[type="submit"]');
      button.disabled = true;
      if (conversation) body.conversation = conversation;
      body.lang = lang;
      body.messages = messages;
      return fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(body),
      })
        .then(function (response) {
          return response.json().then(function (answer) {
            if (!response.ok) throw new Error((answer.error && answer.error.message) || response.status);
            return answer;
          });
        })
        .then(function (answer) {
          button.disabled = false;
          conversation = answer.conversation;
          return answer;
        })
        .catch(function (failure) {
          button.disabled = false;
          error.textContent = failure.message;
          error.hidden = false;
        });
    }
    ask.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = question.value.trim();
      if (!text) return;
      messages.push({ from: "citizen", text: text });
      log.append(template("assistant-said", { text: text }));
      send({}, ask).then(function (answer) {
        if (!answer) {
          messages.pop();
          return;
        }
        messages.push({ from: "assistant", text: answer.text });
        var line = template("assistant-answer", answer);
        if (answer.source) line.firstElementChild.append(template("assistant-source", answer));
        log.append(line);
        question.value = "";
        handover.hidden = false;
        question.focus();
      });
    });
    handover.addEventListener("submit", function (event) {
      event.preventDefault();
      // The last line must be the citizen's: the question that was not answered.
      var asked = messages.filter(function (m) { return m.from === "citizen"; });
      if (asked.length === 0) return;
      var body = { handover: { phone: handover.querySelector("input").value.trim() } };
      if (messages[messages.length - 1].from !== "citizen") {
        messages.push({ from: "citizen", text: lang === "en" ? "Hand over to a person, please." : "请转人工。" });
      }
      send(body, handover).then(function (answer) {
        if (!answer) return;
        var line = template("assistant-answer", answer);
        line.firstElementChild.append(template("assistant-ticket", answer));
        log.append(line);
        ask.hidden = true;
        handover.hidden = true;
      });
    });
    box.hidden = false;
  }

  // Keyboard shortcuts: Ctrl+Enter sends the form being typed in (accesskeys name fields).
  // A unit picker's search (data-unit-search="SELECT-ID"): the field lists every unit
  // (its datalist, matched as one types). The unit picked there, or the only one whose
  // name holds what was typed, joins the picker's select, chosen (added to a multiple
  // choice), and the status line
  // (data-status) says which; several matches are counted (data-many). The select is
  // what the form sends.
  function wireUnitSearch(field) {
    var select = document.getElementById(field.getAttribute("data-unit-search"));
    var status = document.getElementById(field.getAttribute("data-status"));
    field.addEventListener("change", function () {
      var typed = field.value.trim();
      if (!typed || !select) return;
      var options = Array.prototype.slice.call(field.list.options);
      var exact = options.filter(function (option) {
        return option.value === typed;
      });
      var found = exact.length ? exact : options.filter(function (option) {
        return option.value.indexOf(typed) !== -1;
      });
      if (found.length !== 1) {
        if (status) status.textContent = found.length + " " + field.getAttribute("data-many");
        return;
      }
      var match = found[0];
      var id = match.getAttribute("data-id");
      var option = Array.prototype.find.call(select.options, function (o) {
        return o.value === id;
      });
      if (!option) {
        option = new Option(match.value, id);
        (select.querySelector("optgroup[data-found]") || select).appendChild(option);
      }
      // A multiple choice (the units to summon) gains the unit; a single one takes it.
      if (select.multiple) option.selected = true;
      else select.value = id;
      if (status) status.textContent = match.value;
    });
  }

  // A file form (data-upload="URL"): each chosen file is sent as it is to URL?name=...,
  // one after the other (the server judges its type from its content); then the page
  // reloads. A refusal shows in the form's .form-error, naming the file.
  function wireUpload(form) {
    form.addEventListener("submit", function (event) {
      var button = begin(form, event);
      if (!button) return;
      var files = Array.prototype.slice.call(form.querySelector('input[type="file"]').files);
      var headers = headersFor("application/octet-stream");
      var url = form.getAttribute("data-upload");
      files
        .reduce(function (previous, file) {
          return previous.then(function () {
            return fetch(url + "?name=" + encodeURIComponent(file.name), {
              method: "POST",
              headers: headers,
              credentials: "same-origin",
              body: file,
            }).then(function (response) {
              if (response.ok) return;
              return response.json().then(
                function (answer) {
                  throw new Error(file.name + ": " + ((answer.error || {}).message || response.status));
                },
                function () {
                  throw new Error(file.name + ": " + response.status);
                }
              );
            });
          });
        }, Promise.resolve())
        .then(function () {
          window.location.reload();
        })
        .catch(function (failure) {
          if (button) button.disabled = false;
          showError(form, failure.message);
        });
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = event.target.form;
      if (!form || !form.hasAttribute("data-api")) return;
      // Inside a fieldset with its own button (the console's answer-now box), that
      // button sends the form.
      var box = event.target.closest("fieldset");
      var own = box && box.querySelector('[type="submit"]');
      if (own) form.requestSubmit(own);
      else form.requestSubmit();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-api]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        submit(form, event);
      });
    });
    document.querySelectorAll("[data-disables]").forEach(wireDisables);
    document.querySelectorAll("[data-mirror]").forEach(function (field) {
      var twin = document.getElementById(field.getAttribute("data-mirror"));
      field.addEventListener("input", function () {
        if (twin) twin.value = field.value;
      });
    });
    if (document.body.classList.contains("easy")) {
      document.querySelectorAll("form.steps").forEach(wireSteps);
    }
    document.querySelectorAll("[data-live]").forEach(wireLive);
    document.querySelectorAll("[data-lookup]").forEach(wireLookup);
    document.querySelectorAll("[data-calls]").forEach(wireCalls);
    document.querySelectorAll("[data-suggest]").forEach(wireSuggest);
    document.querySelectorAll("[data-when]").forEach(wireWhen);
    document.querySelectorAll("[data-kb]").forEach(wireKb);
    document.querySelectorAll("[data-assistant]").forEach(wireAssistant);
    document.querySelectorAll("[data-unit-search]").forEach(wireUnitSearch);
    document.querySelectorAll("form[data-upload]").forEach(wireUpload);
  });
})();
