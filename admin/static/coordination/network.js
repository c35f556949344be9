// The stakeholder network page: fetch the graph as JSON, draw it with Cytoscape.js.
// No inline script: the page passes the data URL in data-url.
(function () {
  "use strict";
  var box = document.getElementById("network");
  if (!box || typeof cytoscape !== "function") { return; }

  document.querySelectorAll(".legend-types .swatch").forEach(function (swatch) {
    swatch.style.backgroundColor = swatch.getAttribute("data-colour");
  });

  var summary = document.getElementById("network-summary");
  var selection = document.getElementById("network-selection");

  function text(element, value) { if (element) { element.textContent = value; } }

  fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(function (graph) {
      var s = graph.summary;
      text(summary, s.organisations + " organisations, " + s.links + " links, " + s.communities +
        " communities, " + s.isolates.length + " isolates. Top brokers: " + (s.brokers.join(", ") || "none") + ".");
      var cy = cytoscape({
        container: box,
        elements: graph.elements,
        wheelSensitivity: 0.2,
        style: [
          { selector: "node", style: {
            "background-color": "data(colour)", "label": "data(label)",
            "width": "data(size)", "height": "data(size)", "font-size": 10,
            "text-valign": "bottom", "text-margin-y": 3, "border-width": 1, "border-color": "#444" } },
          { selector: "edge", style: {
            "width": "mapData(weight, 1, 10, 1, 6)", "line-color": "#bbb", "curve-style": "haystack", "opacity": 0.7 } },
          { selector: "node:selected", style: { "border-width": 3, "border-color": "#000" } },
          { selector: ".faded", style: { "opacity": 0.15 } }
        ],
        layout: { name: "cose", animate: false, randomize: false, nodeRepulsion: 8000, idealEdgeLength: 80, padding: 20 }
      });
      box.setAttribute("data-nodes", String(cy.nodes().length));
      box.setAttribute("data-edges", String(cy.edges().length));
      box.setAttribute("data-ready", "1");
      cy.on("tap", "node", function (event) {
        var node = event.target, d = node.data();
        cy.elements().addClass("faded");
        node.closedNeighborhood().removeClass("faded");
        text(selection, d.label + " – " + d.name + " (" + d.type.replace(/_/g, " ") + "): degree " +
          d.degree.toFixed(3) + ", betweenness " + d.betweenness.toFixed(3) +
          (d.isolate ? ", isolate" : ", constraint " + d.constraint.toFixed(3) + ", community " + d.community) + ".");
      });
      cy.on("tap", function (event) {
        if (event.target === cy) { cy.elements().removeClass("faded"); text(selection, ""); }
      });
    })
    .catch(function (error) {
      text(summary, "The network could not be loaded (" + error.message + ").");
    });
}());
