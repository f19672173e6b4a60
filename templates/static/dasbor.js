// Keeps the campaign dashboard's totals live: follows the server-sent counts of
// /admin/campaigns/{id}/dasbor/events (the ceremony screen's stream) and updates the numbers
// in place. Without this script the page shows the counts at load time.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var url = live && live.getAttribute("data-events");
  if (!url || !window.EventSource) return;

  function thousands(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }
  function percent(signed, target) {
    var v = target > 0 ? (100 * signed) / target : 0;
    return v.toFixed(1).replace(".", ",") + "%";
  }
  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  var source = new EventSource(url);
  source.addEventListener("counts", function (e) {
    var c;
    try {
      c = JSON.parse(e.data);
    } catch (_) {
      return;
    }
    setText("total-target", thousands(c.target));
    setText("total-signed", thousands(c.signed));
    setText("total-unsigned", thousands(Math.max(0, c.target - c.signed)));
    setText("total-rate", percent(c.signed, c.target));
    live.textContent = "Langsung: angka diperbarui seketika.";
    live.className = "meta live";
  });
  source.onerror = function () {
    live.textContent = "Sambungan langsung terputus; mencoba lagi…";
    live.className = "meta";
  };
})();
