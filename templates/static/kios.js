// The kiosk's script (SPEC 4.4). A page the browser restores from its back/forward cache
// would show the previous signer without asking the server: reload the scan screen instead.
// On the receipt, return to the scan screen after the given seconds (the server ends the
// step). On the scan screen, scan the slip's QR with the camera where the browser has a
// BarcodeDetector; a scanner that types, or typing, fills the same field.
(function () {
  "use strict";
  window.addEventListener("pageshow", function (ev) {
    if (ev.persisted) window.location.replace("/kios");
  });

  var done = document.getElementById("kios-done");
  if (done) {
    var left = parseInt(done.getAttribute("data-seconds") || "60", 10);
    var note = document.getElementById("kios-left");
    var timer = window.setInterval(function () {
      left -= 1;
      if (note && left >= 0) note.textContent = "Layar kembali ke pemindaian dalam " + left + " detik.";
      if (left <= 0) {
        window.clearInterval(timer);
        done.submit();
      }
    }, 1000);
  }

  var slip = document.getElementById("slip");
  var box = document.getElementById("kios-camera");
  if (!slip || !box || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  var form = document.getElementById("kios-slip");
  var video = document.getElementById("kios-video");
  var start = document.getElementById("kios-camera-start");
  box.hidden = false;
  start.addEventListener("click", function () {
    var detector;
    try {
      detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch (e) {
      box.hidden = true;
      return;
    }
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        video.srcObject = stream;
        video.hidden = false;
        start.hidden = true;
        return video.play().then(function () {
          var look = function () {
            detector
              .detect(video)
              .then(function (codes) {
                if (codes.length > 0 && codes[0].rawValue) {
                  stream.getTracks().forEach(function (t) { t.stop(); });
                  slip.value = codes[0].rawValue;
                  form.submit();
                  return;
                }
                window.setTimeout(look, 250);
              })
              .catch(function () { window.setTimeout(look, 500); });
          };
          look();
        });
      })
      .catch(function () {
        box.hidden = true;
        slip.focus();
      });
  });
})();
