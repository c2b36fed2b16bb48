/* The search page: ask the REST API (the session's cookie signs the request) and show the ranked products with
   why each ranks, how the query was read, and the facets, which filter when clicked. The address follows each
   search (?q=…&brand=…), so back works. Text from the shop and from the query box is only ever set as text
   (textContent), never as HTML. */
(function () {
  "use strict";

  var form = document.querySelector("[data-testid=search-form]");
  if (!form) { return; }
  var FILTERS = ["category", "brand", "price_min", "price_max"];
  var api = form.dataset.api;
  var k = form.dataset.k || "20";
  var input = document.getElementById("search-q");
  var view = document.querySelector("[data-testid=search-view]");
  var error = document.querySelector("[data-testid=search-error]");
  var summary = document.querySelector("[data-testid=search-summary]");
  var understood = document.querySelector("[data-testid=search-understanding]");
  var empty = document.querySelector("[data-testid=search-empty]");
  var results = document.querySelector("[data-testid=search-results]");
  var chips = document.querySelector("[data-testid=search-filters]");
  var state = { q: input.value, filters: {} };
  var answered = 0;  // searches answered so far, on the view as data-answered (tests wait for the next one)
  FILTERS.forEach(function (name) {
    var value = form.getAttribute("data-" + name.replace("_", "-"));
    if (value) { state.filters[name] = value; }
  });

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function money(value) { return value === null || value === undefined ? "" : Number(value).toFixed(2); }

  function band(value) {
    return value.max === null || value.max === undefined ? money(value.min) + " and up"
      : money(value.min) + " – " + money(value.max);
  }

  function query(extra) {
    var params = new URLSearchParams();
    params.set("q", state.q);
    FILTERS.forEach(function (name) { if (state.filters[name]) { params.set(name, state.filters[name]); } });
    Object.keys(extra || {}).forEach(function (name) { params.set(name, extra[name]); });
    return params.toString();
  }

  function clear() {
    [summary, understood, results, chips, empty].forEach(function (node) { node.textContent = ""; });
    document.querySelectorAll("[data-facet] ul").forEach(function (list) { list.textContent = ""; });
    empty.hidden = true;
  }

  function fail(message) {
    clear();
    error.textContent = message;
    error.hidden = false;
    view.dataset.state = "error";
    view.dataset.answered = String(++answered);
  }

  function why(item) {
    var line = el("div", null, "why");
    line.appendChild(el("span", "score " + Number(item.score).toFixed(3)));
    Object.keys(item.signals || {}).forEach(function (name) {
      var part = el("span", name + " " + Number(item.signals[name]).toFixed(3));
      part.dataset.signal = name;
      line.appendChild(part);
    });
    var fields = Object.keys(item.fields || {});
    if (fields.length) {
      line.appendChild(el("span", "matched: " + fields.map(function (f) {
        return f + " " + Number(item.fields[f]).toFixed(2);
      }).join(", ")));
    }
    return line;
  }

  function hit(item) {
    var row = el("li", null, "hit");
    row.dataset.product = item.product_id;
    row.dataset.brand = item.brand || "";
    row.dataset.category = item.category || "";
    if (item.price !== null && item.price !== undefined) { row.dataset.price = item.price; }
    row.appendChild(el("div", item.title || item.product_id, "title"));
    row.appendChild(el("div", [item.brand, item.category, item.price === null || item.price === undefined ? ""
                                : "price " + money(item.price), item.product_id].filter(Boolean).join(" · "),
                       "facts"));
    row.appendChild(why(item));
    return row;
  }

  function narrow(changes) {
    Object.keys(changes).forEach(function (name) {
      if (changes[name] === null || changes[name] === undefined) { delete state.filters[name]; }
      else { state.filters[name] = String(changes[name]); }
    });
    search(true);
  }

  function facets(body) {
    ["category", "brand", "price"].forEach(function (name) {
      var list = document.querySelector("[data-facet=" + name + "] ul");
      (body.facets[name] || []).forEach(function (value) {
        var entry = el("li");
        var button = el("button", name === "price" ? band(value) : value.value);
        button.type = "button";
        button.dataset.value = name === "price" ? band(value) : value.value;
        button.addEventListener("click", function () {
          narrow(name === "price" ? { price_min: value.min, price_max: value.max } : (function () {
            var change = {}; change[name] = value.value; return change;
          }()));
        });
        entry.appendChild(button);
        entry.appendChild(el("span", " " + value.count, "count"));
        list.appendChild(entry);
      });
    });
    FILTERS.forEach(function (name) {
      if (!state.filters[name]) { return; }
      var chip = el("button", name.replace("_", " ") + ": " + state.filters[name] + " ×");
      chip.type = "button";
      chip.dataset.filter = name;
      chip.title = "Remove this filter";
      chip.addEventListener("click", function () { var change = {}; change[name] = null; narrow(change); });
      chips.appendChild(chip);
    });
  }

  function reading(body) {
    var understanding = body.understanding || {};
    (understanding.explain || []).forEach(function (line) { understood.appendChild(el("li", line)); });
    if (understanding.relaxed) {
      understood.appendChild(el("li", "the filters read from the query left nothing: searched without them"));
    }
  }

  function show(body) {
    clear();
    error.hidden = true;
    var n = body.items.length;
    summary.textContent = n ? n + " result" + (n === 1 ? "" : "s") + " for “" + body.query + "” (" +
      body.candidates + " candidates; terms: " + (body.terms.join(" ") || "none") + ")" : "";
    reading(body);
    facets(body);
    if (!n) {
      empty.textContent = "No products match “" + body.query + "”" +
        (Object.keys(state.filters).length ? " with these filters: remove one to see more." : ".");
      empty.hidden = false;
    }
    body.items.forEach(function (item) { results.appendChild(hit(item)); });
    view.dataset.state = n ? "shown" : "empty";
    view.dataset.answered = String(++answered);
  }

  function search(remember) {
    if (!state.q.trim()) { return Promise.resolve(); }
    view.dataset.state = "loading";
    if (remember) { history.pushState(null, "", "?" + query()); }
    return fetch(api + "?" + query({ k: k, explain: "true" }),
                 { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok) { show(body); return; }
          var detail = Array.isArray(body.detail) ? body.detail.map(function (d) { return d.msg; }).join("; ")
            : (body.detail || response.statusText);
          fail("The search could not be run (" + response.status + "): " + detail);
        });
      })
      .catch(function (problem) { fail("The search could not be run: " + problem); });
  }

  function fromAddress() {
    var params = new URLSearchParams(window.location.search);
    state.q = params.get("q") || "";
    state.filters = {};
    FILTERS.forEach(function (name) { if (params.get(name)) { state.filters[name] = params.get(name); } });
    input.value = state.q;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    state.q = input.value;
    search(true);
  });
  window.addEventListener("popstate", function () { fromAddress(); clear(); search(false); });
  window.shoplensSearch = { search: search, state: state };  // for people at the console and the browser tests
  if (state.q) { search(false); }
}());
