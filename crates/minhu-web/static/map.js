// The portal's map: the regions' outlines (and the city's tiles, when it has a tile
// server) from /api/v1/map; a click or "use the centre" puts the report's point into
// the form's location fields. Without scripts or Leaflet the form works as before.
(function () {
  "use strict";

  function start(box) {
    if (!window.L) return;
    fetch(box.getAttribute("data-map"), { credentials: "same-origin" })
      .then(function (response) {
        return response.json();
      })
      .then(function (layers) {
        box.hidden = false;
        // Invented outlines (an anonymised city's) say so.
        box.querySelector("[data-map-schematic]").hidden = !layers.schematic;
        var map = L.map(box.querySelector(".map"), { keyboard: true, attributionControl: !!layers.tiles });
        if (layers.tiles) {
          L.tileLayer(layers.tiles, { attribution: layers.attribution || "", maxZoom: 19 }).addTo(map);
        }
        var outlines = L.geoJSON(layers.regions, {
          style: { color: "#0b5cad", weight: 1, fillOpacity: 0.05 },
        }).addTo(map);
        if (outlines.getLayers().length) {
          map.fitBounds(outlines.getBounds());
        } else {
          map.setView([0, 0], 2);
        }
        var lat = box.querySelector('[name="location.lat"]');
        var lon = box.querySelector('[name="location.lon"]');
        var shown = box.querySelector("#map-point");
        var marker = null;
        function place(point) {
          var at = L.latLng(point.lat, point.lng);
          lat.value = at.lat.toFixed(6);
          lon.value = at.lng.toFixed(6);
          if (marker) marker.setLatLng(at);
          else marker = L.circleMarker(at, { radius: 8, color: "#b3261e" }).addTo(map);
          shown.textContent = lat.value + ", " + lon.value;
        }
        map.on("click", function (event) {
          place(event.latlng);
        });
        box.querySelector("[data-map-centre]").addEventListener("click", function () {
          place(map.getCenter());
        });
        box.querySelector("[data-map-clear]").addEventListener("click", function () {
          lat.value = "";
          lon.value = "";
          shown.textContent = "";
          if (marker) {
            marker.remove();
            marker = null;
          }
        });
      })
      .catch(function () {
        box.hidden = true;
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-map]").forEach(start);
  });
})();
