// Keeps the ceremony screen live: follows the server-sent counts of /acara/{id}/events and
// updates the numbers and bars in place. Without this script the page shows the counts at
// load time and reloads itself every 15 seconds.
(function () {
  "use strict";
  var url = document.body.getAttribute("data-events");
  if (!url || !window.EventSource) return;

  function thousands(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }
  function share(signed, target) {
    return target > 0 ? Math.min(1, signed / target) : 0;
  }
  function percent(signed, target) {
    var v = target > 0 ? (100 * signed) / target : 0;
    return v.toFixed(1).replace(".", ",") + "%";
  }
  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }
  function setBar(el, signed, target) {
    if (el) el.setAttribute("width", (100 * share(signed, target)).toFixed(1));
  }

  var status = document.getElementById("status");
  var source = new EventSource(url);

  source.addEventListener("counts", function (e) {
    var c;
    try {
      c = JSON.parse(e.data);
    } catch (_) {
      return;
    }
    setText(document.getElementById("signed"), thousands(c.signed));
    setText(document.getElementById("target"), thousands(c.target));
    setText(document.getElementById("percent"), percent(c.signed, c.target));
    setBar(document.getElementById("bar"), c.signed, c.target);
    (c.units || []).forEach(function (u) {
      var row = document.querySelector('[data-unit="' + Number(u.id) + '"]');
      if (!row) return;
      setText(row.querySelector("[data-signed]"), thousands(u.signed));
      setText(row.querySelector("[data-target]"), thousands(u.target));
      setText(row.querySelector("[data-percent]"), percent(u.signed, u.target));
      setBar(row.querySelector("[data-bar]"), u.signed, u.target);
    });
    setText(status, "Langsung: angka diperbarui seketika.");
    if (status) status.className = "acara-status live";
  });

  source.addEventListener("error", function () {
    setText(status, "Koneksi terputus; menyambung kembali…");
    if (status) status.className = "acara-status lost";
  });
})();
