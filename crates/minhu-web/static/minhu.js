// minhu's one script for every page (the CSP allows no inline scripts). It turns a
// form with data-api="URL" into a JSON request to the API, so every page writes
// through the same checked API as other programs:
//   name="citizen.phone"      -> {"citizen": {"phone": ...}} (dots nest)
//   type=checkbox             -> true / false
//   data-type="bool"          -> "true"/"false" as a boolean; "number" -> a number;
//   data-type="list"          -> split on commas and spaces
//   empty fields are left out (the API then uses its default)
// On success: data-then="reload" reloads; data-then="go:/path/{number}" navigates;
// data-done="TEMPLATE-ID" data-out="ID" shows the template, filled from the answer
// ([data-field="a.b"] gets the text, [data-href="/x/{a}"] the link). On failure the
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

  function formJson(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.disabled || field.type === "submit") return;
      if (field.type === "radio" && !field.checked) return;
      var type = field.getAttribute("data-type");
      var value;
      if (field.type === "checkbox") {
        value = field.checked;
      } else {
        value = field.value.trim();
        if (value === "") return;
        if (type === "bool") value = value === "true";
        else if (type === "number") value = Number(value);
        else if (type === "list") value = value.split(/[\s,，、]+/).filter(Boolean);
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
    return node;
  }

  function showError(form, message) {
    var box = form.querySelector(".form-error");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
  }

  function submit(form, event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    var error = form.querySelector(".form-error");
    if (error) error.hidden = true;
    var button = form.querySelector('[type="submit"]');
    if (button) button.disabled = true;
    var headers = { "Content-Type": "application/json" };
    var csrf = csrfToken();
    if (csrf) headers["X-CSRF-Token"] = csrf;
    fetch(form.getAttribute("data-api"), {
      method: "POST",
      headers: headers,
      credentials: "same-origin",
      body: JSON.stringify(formJson(form)),
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

  // A field with data-lookup="URL" fetches URL + its value when it changes and lists
  // the answer's "tickets" in data-out with the template data-row (the caller's history).
  function wireLookup(field) {
    var out = document.getElementById(field.getAttribute("data-out"));
    var row = document.getElementById(field.getAttribute("data-row"));
    var empty = document.getElementById(field.getAttribute("data-empty"));
    field.addEventListener("change", function () {
      var value = field.value.trim();
      if (!value || !out || !row) return;
      fetch(field.getAttribute("data-lookup") + encodeURIComponent(value), { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : { tickets: [] };
        })
        .then(function (answer) {
          var rows = (answer.tickets || []).map(function (ticket) {
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
          box.replaceChildren.apply(box, parts);
        });
    }
    ids.forEach(function (id) {
      document.getElementById(id).addEventListener("change", ask);
    });
  }

  // Keyboard shortcuts: Ctrl+Enter sends the form being typed in (accesskeys name fields).
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = event.target.form;
      if (form && form.hasAttribute("data-api")) form.requestSubmit();
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
    document.querySelectorAll("[data-suggest]").forEach(wireSuggest);
  });
})();
