// Signature pad for the signing page. Without this script the form still works with the
// typed name alone. The drawing is sent in the canonical mark form of SPEC 3.7:
// "M x yL x y…" with integer coordinates in 0..4096.
(function () {
  "use strict";
  var form = document.getElementById("sign-form");
  if (!form) return;
  var submit = document.getElementById("submit");
  var canvas = document.getElementById("pad");
  var hidden = document.getElementById("mark_svg");
  var MAX_BYTES = 32 * 1024;
  var strokes = [];

  if (canvas && hidden) {
    var box = canvas.closest(".pad");
    if (box) box.hidden = false;
    var ctx = canvas.getContext("2d");
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#0d1f73";
    var drawing = false;

    var point = function (ev) {
      var r = canvas.getBoundingClientRect();
      var x = Math.round(((ev.clientX - r.left) / r.width) * 4096);
      var y = Math.round(((ev.clientY - r.top) / r.height) * 4096);
      return [Math.min(4096, Math.max(0, x)), Math.min(4096, Math.max(0, y))];
    };
    var toCanvas = function (p) {
      return [(p[0] / 4096) * canvas.width, (p[1] / 4096) * canvas.height];
    };
    canvas.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
      canvas.setPointerCapture(ev.pointerId);
      drawing = true;
      strokes.push([point(ev)]);
    });
    canvas.addEventListener("pointermove", function (ev) {
      if (!drawing) return;
      ev.preventDefault();
      var stroke = strokes[strokes.length - 1];
      var p = point(ev);
      var last = stroke[stroke.length - 1];
      // Skip points closer than ~0.5 % of the pad: smaller marks, same drawing.
      if (Math.abs(p[0] - last[0]) + Math.abs(p[1] - last[1]) < 20) return;
      stroke.push(p);
      var a = toCanvas(last), b = toCanvas(p);
      ctx.beginPath();
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      ctx.stroke();
    });
    var end = function () { drawing = false; };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    // A drawing kept by the server (the page asked "Apakah nama Anda benar?") is shown
    // again and sent again unless the signer clears it.
    if (hidden.value) {
      hidden.value.split("M").forEach(function (part) {
        if (!part) return;
        var stroke = part.split("L").map(function (p) {
          var xy = p.trim().split(" ");
          return [Number(xy[0]), Number(xy[1])];
        });
        strokes.push(stroke);
        ctx.beginPath();
        stroke.forEach(function (p, i) {
          var c = toCanvas(p);
          if (i === 0) ctx.moveTo(c[0], c[1]);
          else ctx.lineTo(c[0], c[1]);
        });
        ctx.stroke();
      });
    }
    document.getElementById("pad-clear").addEventListener("click", function () {
      strokes = [];
      ctx.clearRect(0, 0, canvas.width, canvas.height);
    });
  }

  var encode = function () {
    var out = "";
    for (var i = 0; i < strokes.length; i++) {
      var s = strokes[i];
      // A single tap becomes a dot: a stroke needs at least one line.
      if (s.length === 1) s = [s[0], [Math.min(4096, s[0][0] + 1), s[0][1]]];
      for (var j = 0; j < s.length; j++) {
        out += (j === 0 ? "M" : "L") + s[j][0] + " " + s[j][1];
      }
    }
    return out.length <= MAX_BYTES ? out : "";
  };

  form.addEventListener("submit", function (ev) {
    if (form.dataset.sent === "1") {
      ev.preventDefault(); // a double tap: the first submission is already on its way
      return;
    }
    if (hidden) hidden.value = encode();
    form.dataset.sent = "1";
    submit.disabled = true;
    submit.textContent = "Mengirim…";
  });
})();
