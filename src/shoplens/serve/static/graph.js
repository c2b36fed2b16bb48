/* The product graph page: fetch a product's neighbourhood from the REST API (the session's cookie signs the
   request) and draw it with Cytoscape.js; clicking a neighbouring product centres the graph on that product.
   Text from the shop is only ever set as text (labels, textContent), never as HTML. */
(function () {
  "use strict";

  var view = document.getElementById("graph-view");
  if (!view || typeof cytoscape !== "function") { return; }
  var api = view.dataset.api;
  var perRelation = view.dataset.k || "6";
  var title = document.querySelector("[data-testid=graph-title]");
  var facts = document.querySelector("[data-testid=graph-product-facts]");
  var error = document.querySelector("[data-testid=graph-error]");
  var rows = document.querySelector("[data-testid=graph-neighbours] tbody");
  var input = document.getElementById("graph-product");
  var COLOURS = { Product: "#2f5fd0", Category: "#7a5af8", Brand: "#0e9384", Attribute: "#98a2b3",
                  Aspect: "#dc6803", Question: "#c11574", Customer: "#475467", Entity: "#667085" };
  var WORDS = { IN_CATEGORY: "category", MADE_BY: "brand", HAS_ATTRIBUTE: "attribute",
                BOUGHT_TOGETHER: "bought together", ALSO_BOUGHT: "also bought", VIEWED_TOGETHER: "viewed together",
                SIMILAR_TO: "similar", MENTIONS: "review aspect", ABOUT: "question", LINKED_TO: "entity",
                BOUGHT: "bought by" };

  var cy = cytoscape({
    container: view,
    elements: [],
    minZoom: 0.3,
    maxZoom: 3,
    wheelSensitivity: 0.2,
    style: [
      { selector: "node", style: { "background-color": "data(colour)", "label": "data(label)", "font-size": 10,
                                   "color": "#1d2430", "text-valign": "bottom", "text-margin-y": 3,
                                   "text-wrap": "ellipsis", "text-max-width": 120, "width": 18, "height": 18 } },
      { selector: "node[?centre]", style: { "width": 34, "height": 34, "font-size": 12, "font-weight": "bold",
                                            "border-width": 3, "border-color": "#1d2430" } },
      { selector: "node[?clickable]", style: { "shape": "round-rectangle" } },
      { selector: "edge", style: { "width": 1.5, "line-color": "#c8ced8", "curve-style": "bezier",
                                   "target-arrow-shape": "triangle", "target-arrow-color": "#c8ced8",
                                   "label": "data(label)", "font-size": 8, "color": "#5b6472",
                                   "text-rotation": "autorotate", "text-background-color": "#fff",
                                   "text-background-opacity": 0.8 } }
    ]
  });
  window.shoplensGraph = { cy: cy, show: show };  // for people at the console and the browser tests

  function nodeKey(table, id) { return table + ":" + (id === null || id === undefined ? "*" : id); }

  function strength(properties) {
    var parts = [];
    Object.keys(properties || {}).forEach(function (name) {
      var value = properties[name];
      if (value === null || value === undefined || Array.isArray(value)) { return; }
      if (typeof value === "number" && !Number.isInteger(value)) { value = value.toFixed(3); }
      parts.push(name.replace(/_/g, " ") + " " + value);
    });
    return parts.join(" · ");
  }

  function elements(data) {
    var product = data.product;
    var centre = nodeKey("Product", product.product_id);
    var nodes = {};
    nodes[centre] = { data: { id: centre, label: product.title || product.product_id, colour: COLOURS.Product,
                              centre: true, table: "Product", productId: product.product_id } };
    var edges = [];
    data.items.forEach(function (item, position) {
      var key = nodeKey(item.table, item.id);
      if (!nodes[key]) {
        nodes[key] = { data: { id: key, label: item.name || item.id || item.table, table: item.table,
                               colour: COLOURS[item.table] || "#667085", centre: false,
                               clickable: item.table === "Product", productId: item.table === "Product" ? item.id : null } };
      }
      var out = item.direction === "out";
      edges.push({ data: { id: "e" + position, source: out ? centre : key, target: out ? key : centre,
                           label: WORDS[item.relation] || item.relation } });
    });
    return Object.keys(nodes).map(function (k) { return nodes[k]; }).concat(edges);
  }

  function table(data) {
    rows.textContent = "";
    data.items.forEach(function (item) {
      var row = document.createElement("tr");
      row.dataset.relation = item.relation;
      if (item.id !== null && item.id !== undefined) { row.dataset.neighbour = item.id; }
      var cells = [WORDS[item.relation] || item.relation, item.table, null, strength(item.properties)];
      cells.forEach(function (text, column) {
        var cell = document.createElement("td");
        if (column === 2 && item.table === "Product") {
          var link = document.createElement("a");
          link.href = "?product=" + encodeURIComponent(item.id);
          link.textContent = (item.name || item.id) + " (" + item.id + ")";
          link.addEventListener("click", function (event) { event.preventDefault(); show(item.id, true); });
          cell.appendChild(link);
        } else {
          cell.textContent = column === 2 ? (item.name || item.id || "") : text;
        }
        if (column === 3) { cell.className = "strength"; }
        row.appendChild(cell);
      });
      rows.appendChild(row);
    });
  }

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
    title.textContent = "";
    facts.textContent = "";
    rows.textContent = "";
    cy.elements().remove();
    view.dataset.centre = "";
    view.dataset.state = "error";
  }

  function draw(data) {
    error.hidden = true;
    var product = data.product;
    title.textContent = (product.title || product.product_id) + " (" + product.product_id + ")";
    facts.textContent = [product.brand, product.category,
                         product.price === null || product.price === undefined ? "" : "price " + product.price]
      .filter(Boolean).join(" · ");
    cy.elements().remove();
    cy.add(elements(data));
    cy.layout({ name: "concentric", animate: false, fit: true, padding: 40, minNodeSpacing: 28,
                concentric: function (node) { return node.data("centre") ? 2 : 1; },
                levelWidth: function () { return 1; } }).run();
    table(data);
    view.dataset.centre = product.product_id;
    view.dataset.state = "shown";
    if (input) { input.value = product.product_id; }
    document.title = document.title.replace(/^[^·]*·/, (product.title || product.product_id) + " ·");
  }

  function show(productId, remember) {
    if (!productId) { return Promise.resolve(); }
    view.classList.add("loading");
    view.dataset.state = "loading";
    var address = api + encodeURIComponent(productId) + "/neighbours?k=" + encodeURIComponent(perRelation);
    return fetch(address, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.status === 404) {
            fail(body.detail || ("Unknown product " + productId + ": it is not in the graph."));
          } else if (!response.ok) {
            fail("The graph could not be read (" + response.status + "): " + (body.detail || response.statusText));
          } else {
            draw(body);
          }
          if (remember) {
            history.pushState({ product: productId }, "", "?product=" + encodeURIComponent(productId));
          }
        });
      })
      .catch(function (problem) { fail("The graph could not be read: " + problem); })
      .finally(function () { view.classList.remove("loading"); });
  }

  cy.on("tap", "node[?clickable]", function (event) { show(event.target.data("productId"), true); });
  window.addEventListener("popstate", function () {
    show(new URLSearchParams(window.location.search).get("product") || view.dataset.product, false);
  });
  show(view.dataset.product, false);
}());
