// The in-browser verifier (/periksa and the single file `ikrar verifier` writes): checks a
// receipt's QR text on this device against the pledge keys embedded in the page, with
// WebCrypto's Ed25519, and, when the network allows, its inclusion in the transparency log
// and the witnesses' cosignatures, also checked here. Nothing is trusted from the server but
// the facts it can prove; the annulment status is the only thing taken on its word.
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('periksa-config').textContent);
  var enc = new TextEncoder();
  var BULAN = ['Januari', 'Februari', 'Maret', 'April', 'Mei', 'Juni', 'Juli', 'Agustus',
    'September', 'Oktober', 'November', 'Desember'];
  var DASH = '\u2014 ';

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function hex(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) { s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16); }
    return s;
  }

  function concat(parts) {
    var n = 0;
    parts.forEach(function (p) { n += p.length; });
    var out = new Uint8Array(n);
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) { return false; }
    for (var i = 0; i < a.length; i++) { if (a[i] !== b[i]) { return false; } }
    return true;
  }

  function b64(text) {
    var bin = atob(text);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  // RFC 4648 base32 without padding, either case.
  function base32(text) {
    var alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    var s = text.toUpperCase();
    var out = [];
    var bits = 0;
    var value = 0;
    for (var i = 0; i < s.length; i++) {
      var v = alphabet.indexOf(s[i]);
      if (v < 0) { throw new Error('bukan base32'); }
      value = (value << 5) | v;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out.push((value >>> bits) & 0xff);
      }
    }
    if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) { throw new Error('base32 tidak lengkap'); }
    return new Uint8Array(out);
  }

  function uint(bytes, from, len) {
    var n = 0;
    for (var i = 0; i < len; i++) { n = n * 256 + bytes[from + i]; }
    return n;
  }

  function bigUint(bytes, from, len) {
    var n = BigInt(0);
    for (var i = 0; i < len; i++) { n = n * BigInt(256) + BigInt(bytes[from + i]); }
    return n;
  }

  // SPEC 3.2: format, key id, log index, sequenced_at, NIP, template, statement hash, name,
  // signature.
  function parseRecord(bytes) {
    var fixed = 1 + 4 + 5 + 5 + 8 + 2 + 16 + 1;
    if (bytes.length < fixed + 64) { throw new Error('rekaman terlalu pendek'); }
    var nameLen = bytes[fixed - 1];
    if (nameLen > 24 || bytes.length !== fixed + nameLen + 64) {
      throw new Error('panjang rekaman tidak cocok');
    }
    var format = bytes[0];
    if (format !== 1 && format !== 2) { throw new Error('format rekaman tidak dikenal'); }
    var body = bytes.subarray(0, fixed + nameLen);
    return {
      format: format,
      keyId: hex(bytes.subarray(1, 5)),
      logIndex: uint(bytes, 5, 5),
      sequencedAt: uint(bytes, 10, 5),
      nip: bigUint(bytes, 15, 8),
      templateNo: uint(bytes, 23, 2),
      name: new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(fixed, fixed + nameLen)),
      body: body,
      signature: bytes.subarray(fixed + nameLen),
      bytes: bytes
    };
  }

  // `<SCHEME>://<HOST>/V/<BASE32>` in either case.
  function parseQr(text) {
    var m = /^\s*([A-Za-z][A-Za-z0-9+.-]*):\/\/([^\/\s]+)\/[Vv]\/([A-Za-z2-7]+)\s*$/.exec(text);
    if (!m) { throw new Error('Teks ini bukan kode QR tanda terima ikrar (…/V/…).'); }
    return { scheme: m[1].toLowerCase(), host: m[2].toLowerCase(), b32: m[3].toUpperCase() };
  }

  function groupedNip(nip) {
    if (nip === BigInt(0)) { return 'bukan ASN (tanpa NIP)'; }
    var s = nip.toString();
    while (s.length < 18) { s = '0' + s; }
    return s.slice(0, 8) + ' ' + s.slice(8, 14) + ' ' + s.slice(14, 15) + ' ' + s.slice(15);
  }

  function waktu(unix) {
    var d = new Date((unix + cfg.zone.offset) * 1000);
    var two = function (n) { return (n < 10 ? '0' : '') + n; };
    return d.getUTCDate() + ' ' + BULAN[d.getUTCMonth()] + ' ' + d.getUTCFullYear() +
      ' pukul ' + two(d.getUTCHours()) + '.' + two(d.getUTCMinutes()) + ' ' + cfg.zone.abbreviation;
  }

  function unixOf(rfc3339) {
    var t = Date.parse(rfc3339);
    return isNaN(t) ? null : Math.floor(t / 1000);
  }

  function importKey(raw) {
    return crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
  }

  function ed25519(raw, signature, message) {
    return importKey(raw).then(function (key) {
      return crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
    });
  }

  function sha256(bytes) {
    return crypto.subtle.digest('SHA-256', bytes).then(function (d) { return new Uint8Array(d); });
  }

  // The signed-note verifier key `name+hexid+base64(type ‖ key)`.
  function parseVkey(vkey) {
    var first = vkey.indexOf('+');
    var second = vkey.indexOf('+', first + 1);
    var typed = b64(vkey.slice(second + 1));
    return { name: vkey.slice(0, first), id: vkey.slice(first + 1, second), type: typed[0], key: typed.subarray(1) };
  }

  // A signed note: its text (through the blank line's first newline) and signature lines.
  function splitNote(note) {
    var at = note.indexOf('\n\n');
    if (at < 0 || note[note.length - 1] !== '\n') { throw new Error('checkpoint rusak'); }
    var lines = note.slice(at + 2, note.length - 1).split('\n');
    return { text: note.slice(0, at + 1), lines: lines };
  }

  function sigLine(line) {
    if (line.indexOf(DASH) !== 0) { return null; }
    var rest = line.slice(DASH.length);
    var sp = rest.indexOf(' ');
    if (sp < 0) { return null; }
    try {
      return { name: rest.slice(0, sp), blob: b64(rest.slice(sp + 1)) };
    } catch (e) {
      return null;
    }
  }

  // Does a line carry a valid signature of the note text by this signed-note key?
  function noteSigned(text, lines, vkey) {
    var k = parseVkey(vkey);
    var tries = lines.map(sigLine).filter(function (s) {
      return s && s.name === k.name && s.blob.length === 68 && hex(s.blob.subarray(0, 4)) === k.id;
    }).map(function (s) {
      return ed25519(k.key, s.blob.subarray(4), enc.encode(text));
    });
    return Promise.all(tries).then(function (ok) { return ok.indexOf(true) >= 0; });
  }

  // c2sp.org/tlog-cosignature: the line's timestamp and signature over
  // "cosignature/v1\ntime <t>\n" ‖ the checkpoint text.
  function cosigned(text, lines, vkey) {
    var k = parseVkey(vkey);
    var tries = lines.map(sigLine).filter(function (s) {
      return s && s.name === k.name && s.blob.length === 76 && hex(s.blob.subarray(0, 4)) === k.id;
    }).map(function (s) {
      var time = bigUint(s.blob, 4, 8).toString();
      return ed25519(k.key, s.blob.subarray(12), enc.encode('cosignature/v1\ntime ' + time + '\n' + text));
    });
    return Promise.all(tries).then(function (ok) { return ok.indexOf(true) >= 0; });
  }

  function quorumMet(node, signed) {
    if (node === null) { return true; }
    if (node.witness !== undefined) { return signed[node.witness]; }
    return node.members.filter(function (m) { return quorumMet(m, signed); }).length >= node.threshold;
  }

  function leafHash(record) {
    return sha256(concat([new Uint8Array([0]), record]));
  }

  function nodeHash(left, right) {
    return sha256(concat([new Uint8Array([1]), left, right]));
  }

  // RFC 9162 2.1.3.2: the root an inclusion proof leads to.
  function rootFromProof(leaf, index, size, proof) {
    var fn = BigInt(index);
    var sn = BigInt(size) - BigInt(1);
    var zero = BigInt(0);
    var one = BigInt(1);
    if (fn > sn) { return Promise.reject(new Error('indeks di luar pohon')); }
    var step = function (r, i) {
      if (i === proof.length) {
        return sn === zero ? r : Promise.reject(new Error('panjang bukti salah'));
      }
      if (sn === zero) { return Promise.reject(new Error('panjang bukti salah')); }
      var p = proof[i];
      var next;
      if ((fn & one) === one || fn === sn) {
        next = nodeHash(p, r);
        if ((fn & one) === zero) {
          while ((fn & one) === zero && fn !== zero) { fn >>= one; sn >>= one; }
        }
      } else {
        next = nodeHash(r, p);
      }
      fn >>= one;
      sn >>= one;
      return next.then(function (h) { return step(h, i + 1); });
    };
    return Promise.resolve(step(leaf, 0));
  }

  function parseProof(text) {
    var at = text.indexOf('\n\n');
    if (at < 0) { throw new Error('bukti log rusak'); }
    var head = text.slice(0, at).split('\n');
    if (head[0] !== 'c2sp.org/tlog-proof@v1') { throw new Error('bukan berkas c2sp.org/tlog-proof'); }
    var i = 1;
    if (head[i] && head[i].indexOf('extra ') === 0) { i++; }
    var m = /^index (0|[1-9][0-9]*)$/.exec(head[i] || '');
    if (!m) { throw new Error('bukti log rusak'); }
    var hashes = head.slice(i + 1).map(b64);
    hashes.forEach(function (h) { if (h.length !== 32) { throw new Error('bukti log rusak'); } });
    return { index: Number(m[1]), hashes: hashes, checkpoint: text.slice(at + 2) };
  }

  function parseCheckpoint(text) {
    var lines = text.split('\n');
    if (lines.length < 4 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) { throw new Error('checkpoint rusak'); }
    var root = b64(lines[2]);
    if (root.length !== 32) { throw new Error('checkpoint rusak'); }
    return { origin: lines[0], size: Number(lines[1]), root: root };
  }

  function pledgeKey(id) {
    return cfg.keys.keys.filter(function (k) { return k.purpose === 'pledge' && k.key_id === id; })[0];
  }

  function logKeys() {
    return cfg.keys.keys.filter(function (k) { return k.purpose === 'log'; });
  }

  // Offline: the record parses, its key is one of the embedded pledge keys, of the QR's host,
  // the key's window holds sequenced_at, and the signature verifies.
  function checkOffline(qr) {
    var record;
    try {
      record = parseRecord(base32(qr.b32));
    } catch (e) {
      return Promise.resolve({ valid: false, unknownKey: false, reason: 'Rekaman di kode QR tidak dapat dibaca: ' + e.message + '.' });
    }
    var key = pledgeKey(record.keyId);
    if (!key) {
      return Promise.resolve({
        valid: false, unknownKey: true, record: record,
        reason: 'Kunci tidak dikenal: rekaman ini ditandatangani kunci ' + record.keyId +
          ', yang bukan kunci penerbit yang dipercaya halaman ini.'
      });
    }
    var keyHost = key.name.replace(/\/pledge$/, '');
    if (keyHost.toLowerCase() !== qr.host) {
      return Promise.resolve({
        valid: false, unknownKey: false, record: record,
        reason: 'Host di kode QR (' + qr.host + ') bukan host kunci penandatangan (' + keyHost + ').'
      });
    }
    var from = unixOf(key.not_before);
    var until = key.not_after ? unixOf(key.not_after) : null;
    if ((from !== null && record.sequencedAt < from) || (until !== null && record.sequencedAt > until)) {
      return Promise.resolve({
        valid: false, unknownKey: false, record: record,
        reason: 'Rekaman dibuat di luar masa berlaku kunci ' + record.keyId + '.'
      });
    }
    var message = concat([enc.encode('ikrar/record/v1\n'), record.body]);
    return ed25519(b64(key.public_key), record.signature, message).then(function (ok) {
      return ok
        ? { valid: true, record: record, key: key }
        : { valid: false, unknownKey: false, record: record, reason: 'Tanda tangan digital tidak sah: rekaman telah diubah.' };
    }, function () {
      return {
        valid: false, unknownKey: false, record: record, noCrypto: true,
        reason: 'Peramban ini belum dapat memeriksa tanda tangan Ed25519. Gunakan Chrome 137+, Firefox 129+ atau Safari 17+.'
      };
    });
  }

  function fetchText(url) {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, 10000);
    return fetch(url, { signal: ctl.signal, cache: 'no-store' }).then(function (res) {
      clearTimeout(timer);
      if (!res.ok) {
        var e = new Error('server menjawab ' + res.status);
        e.status = res.status;
        throw e;
      }
      return res.text();
    }, function (e) {
      clearTimeout(timer);
      e.network = true;
      throw e;
    });
  }

  function apiBase(qr) {
    return cfg.sameOrigin ? '' : qr.scheme + '://' + qr.host;
  }

  // Online: the tlog-proof puts the record in a checkpoint signed by an embedded log key,
  // cosigned by the policy's quorum; the annulment status is the server's word.
  function checkOnline(qr, record) {
    var base = apiBase(qr);
    var out = { reached: false };
    return fetchText(base + '/api/v1/proof/' + qr.b32).then(function (text) {
      out.reached = true;
      var proof = parseProof(text);
      if (proof.index !== record.logIndex) { throw new Error('bukti untuk nomor urut lain'); }
      var cp = parseCheckpoint(proof.checkpoint);
      var note = splitNote(proof.checkpoint);
      var logs = logKeys().filter(function (k) { return k.name === cp.origin; });
      if (logs.length === 0) { throw new Error('checkpoint berasal dari log lain (' + cp.origin + ')'); }
      return Promise.all(logs.map(function (k) { return noteSigned(note.text, note.lines, k.vkey); })).then(function (ok) {
        if (ok.indexOf(true) < 0) { throw new Error('checkpoint tidak ditandatangani kunci log yang dipercaya'); }
        return leafHash(record.bytes);
      }).then(function (leaf) {
        return rootFromProof(leaf, proof.index, cp.size, proof.hashes);
      }).then(function (root) {
        if (!equal(root, cp.root)) { throw new Error('rekaman tidak tercatat di log menurut bukti ini'); }
        out.included = true;
        out.size = cp.size;
        if (!cfg.policy) { return null; }
        return Promise.all(cfg.policy.witnesses.map(function (w) {
          return cosigned(note.text, note.lines, w.vkey);
        })).then(function (signed) {
          out.cosigners = cfg.policy.witnesses.filter(function (w, i) { return signed[i]; }).map(function (w) { return w.name; });
          out.quorum = quorumMet(cfg.policy.quorum, signed);
        });
      });
    }).then(function () {
      return fetchText(base + '/api/v1/verify/' + qr.b32).then(function (text) {
        var v = JSON.parse(text);
        out.annulled = v.annulled === true;
        out.serverValid = v.valid === true;
      }, function () { /* the proof stands without it */ });
    }).then(function () { return out; }, function (e) {
      if (e.network || e.name === 'AbortError') {
        out.offline = true;
      } else if (e.status === 404) {
        out.included = false;
        out.error = 'rekaman ini tidak ada di log penerbit';
      } else {
        out.included = false;
        out.error = e.message;
      }
      return out;
    });
  }

  function row(table, label, value) {
    var tr = el('tr');
    tr.appendChild(el('th', null, label));
    tr.appendChild(el('td', null, value));
    table.appendChild(tr);
  }

  function item(list, ok, text) {
    var li = el('li', ok === true ? 'ok' : ok === false ? 'bad' : 'pending', (ok === true ? '✔ ' : ok === false ? '✘ ' : '… ') + text);
    list.appendChild(li);
    return li;
  }

  function verdict(box, cls, title, text) {
    box.className = 'status ' + cls;
    box.textContent = '';
    box.appendChild(el('h2', null, title));
    if (text) { box.appendChild(el('p', null, text)); }
  }

  function show(text) {
    var out = $('hasil');
    out.hidden = false;
    out.textContent = '';
    var box = el('section', 'status');
    out.appendChild(box);
    var qr;
    try {
      qr = parseQr(text);
    } catch (e) {
      verdict(box, 'bad', '✘ TIDAK SAH', e.message);
      return Promise.resolve();
    }
    return checkOffline(qr).then(function (r) {
      if (!r.valid) {
        verdict(box, 'bad', r.unknownKey ? '✘ TIDAK SAH — kunci tidak dikenal' : '✘ TIDAK SAH', r.reason);
        return;
      }
      var rec = r.record;
      verdict(box, 'ok', rec.format === 1 ? '✔ Ikrar SAH' : '✔ Rekaman pembatalan SAH',
        'Tanda tangan digital penerbit terverifikasi di perangkat ini.');
      var table = el('table', 'details');
      row(table, 'Nama', rec.name);
      row(table, 'NIP', groupedNip(rec.nip));
      row(table, 'Tanggal', waktu(rec.sequencedAt));
      row(table, 'Nomor urut di log transparansi', String(rec.logIndex));
      row(table, 'Penerbit', qr.host);
      out.appendChild(table);

      out.appendChild(el('h3', null, 'Diperiksa di perangkat ini, tanpa jaringan'));
      var local = el('ul', 'checks');
      item(local, true, 'Tanda tangan digital (Ed25519) atas rekaman cocok dengan kunci penerbit ' + r.key.name + '.');
      item(local, true, 'Rekaman dibuat dalam masa berlaku kunci itu.');
      out.appendChild(local);

      out.appendChild(el('h3', null, 'Perlu jaringan'));
      var net = el('ul', 'checks');
      var inclusion = item(net, null, 'Pencatatan di log transparansi: sedang diperiksa…');
      var witnesses = cfg.policy ? item(net, null, 'Tanda tangan saksi atas checkpoint log: menunggu…') : null;
      var annul = item(net, null, 'Status pembatalan: menunggu…');
      out.appendChild(net);
      return checkOnline(qr, rec).then(function (o) {
        var set = function (li, ok, text) {
          li.className = ok === true ? 'ok' : ok === false ? 'bad' : 'pending';
          li.textContent = (ok === true ? '✔ ' : ok === false ? '✘ ' : '– ') + text;
        };
        if (o.offline) {
          set(inclusion, null, 'Pencatatan di log transparansi belum diperiksa: tidak ada jaringan ke ' + qr.host + '.');
          if (witnesses) { set(witnesses, null, 'Tanda tangan saksi belum diperiksa: perlu jaringan.'); }
          set(annul, null, 'Status pembatalan belum diperiksa: perlu jaringan.');
          return;
        }
        if (!o.included) {
          set(inclusion, false, 'Pencatatan di log transparansi gagal: ' + o.error + '.');
          verdict(box, 'bad', '✘ TIDAK SAH', 'Tanda tangannya cocok, tetapi rekaman ini tidak terbukti tercatat di log transparansi penerbit.');
          if (witnesses) { set(witnesses, null, 'Tanda tangan saksi tidak diperiksa.'); }
          set(annul, null, 'Status pembatalan tidak diperiksa.');
          return;
        }
        set(inclusion, true, 'Tercatat di log transparansi (bukti inklusi diperiksa di perangkat ini terhadap checkpoint berukuran ' + o.size + ' yang ditandatangani kunci log).');
        if (witnesses) {
          var names = o.cosigners.length ? o.cosigners.join(', ') : 'belum ada';
          set(witnesses, o.quorum, (o.quorum ? 'Kuorum saksi terpenuhi' : 'Kuorum saksi belum terpenuhi') + ' (ditandatangani bersama oleh: ' + names + ').');
        }
        if (o.annulled === undefined) {
          set(annul, null, 'Status pembatalan tidak dapat diambil dari penerbit.');
        } else if (o.annulled) {
          set(annul, false, 'Menurut penerbit, ikrar ini telah DIBATALKAN.');
          verdict(box, 'warn', '⚠ Ikrar DIBATALKAN', 'Ikrar ini pernah sah ditandatangani, tetapi kemudian dibatalkan oleh instansi.');
        } else {
          set(annul, true, 'Menurut penerbit, ikrar ini tidak dibatalkan.');
        }
      });
    });
  }

  // Camera: the browser's BarcodeDetector where it has one, else the bundled jsQR.
  var scanning = null;

  function stopScan() {
    if (scanning) {
      scanning.getTracks().forEach(function (t) { t.stop(); });
      scanning = null;
    }
    $('kamera').hidden = true;
  }

  function decoder() {
    if ('BarcodeDetector' in window) {
      var d = new window.BarcodeDetector({ formats: ['qr_code'] });
      return Promise.resolve(function (video) {
        return d.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
      });
    }
    var withJsQr = function () {
      var canvas = document.createElement('canvas');
      var ctx = canvas.getContext('2d', { willReadFrequently: true });
      return function (video) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        if (!canvas.width) { return Promise.resolve(null); }
        ctx.drawImage(video, 0, 0);
        var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
        var code = window.jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' });
        return Promise.resolve(code ? code.data : null);
      };
    };
    if (window.jsQR) { return Promise.resolve(withJsQr()); }
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = cfg.jsqrUrl;
      s.onload = function () { resolve(withJsQr()); };
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function startScan() {
    var video = $('video');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      $('pesan-kamera').textContent = 'Kamera tidak tersedia di peramban ini; tempelkan teks kode QR.';
      return;
    }
    Promise.all([
      navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } }),
      decoder()
    ]).then(function (got) {
      scanning = got[0];
      var detect = got[1];
      video.srcObject = scanning;
      $('kamera').hidden = false;
      video.play();
      var tick = function () {
        if (!scanning) { return; }
        detect(video).then(function (text) {
          if (text) {
            stopScan();
            $('teks').value = text;
            show(text);
          } else {
            setTimeout(tick, 200);
          }
        }, function () { setTimeout(tick, 400); });
      };
      tick();
    }, function () {
      $('pesan-kamera').textContent = 'Kamera tidak dapat dibuka; tempelkan teks kode QR.';
    });
  }

  $('form-periksa').addEventListener('submit', function (e) {
    e.preventDefault();
    show($('teks').value);
  });
  $('pindai').addEventListener('click', startScan);
  $('berhenti').addEventListener('click', stopScan);
  var initial = /[?&]qr=([^&]+)/.exec(location.search);
  if (initial) {
    $('teks').value = decodeURIComponent(initial[1]);
    show($('teks').value);
  }
  if (cfg.serviceWorker && 'serviceWorker' in navigator) {
    navigator.serviceWorker.register(cfg.serviceWorker, { scope: cfg.serviceWorkerScope }).catch(function () {});
  }
  document.documentElement.setAttribute('data-ready', '1');
}());
