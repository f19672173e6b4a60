#!/usr/bin/env bash
# Reminder emails to a local SMTP server (SPEC 8: 10,000 people in <= 60 s), through the
# real `ikrar remind` and the aiosmtpd server the tests use (tests/python/smtp_sink.py), here
# with --raw: each message is written to its own file as received (the tests also parse it).
#
#   scripts/bench-reminders.sh [IKRAR_BINARY] [ROWS]     # default: target/release/ikrar 10000
#
# Prints the wall time of the round, the messages the server accepted, and the peak
# resident memory of `ikrar remind`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$root/target/release/ikrar}"
rows="${2:-10000}"
gen="${IKRAR_GEN_ROSTER:-$root/../shared/tools/gen_roster.py}"
work="$(mktemp -d)"
sink_pid=""
cleanup() {
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="sqlite://$work/bench.db" IKRAR_LOG=warn
python3 "$gen" --rows "$rows" --seed 11 --non-asn 0 | python3 -c '
import csv, sys
r = csv.reader(sys.stdin); w = csv.writer(sys.stdout)
w.writerow(next(r) + ["email"])
for i, row in enumerate(r):
    w.writerow(row + [f"pegawai{i}@bkpsdm.uji.test"])
' > "$work/roster.csv"
"$bin" instansi add --code bench --name "Pemerintah Kota Uji" --place Uji >/dev/null
"$bin" roster import --instansi bench "$work/roster.csv" 2>/dev/null
id="$("$bin" campaign create --instansi bench --template ikrar-netralitas-2024@1 \
  --title "Ikrar Netralitas ASN — Uji pengingat" --place Uji \
  --opens 2026-01-01T00:00:00+07:00 --closes 2027-12-31T00:00:00+07:00)"
"$bin" invitations --campaign "$id" --out "$work/links.csv" --public-url http://127.0.0.1:18080 2>/dev/null

mkdir "$work/mail"
coproc SINK { exec python3 "$root/tests/python/smtp_sink.py" "$work/mail" --raw; }
sink_pid="$SINK_PID"
read -r ready port <&"${SINK[0]}"
[ "$ready" = ready ] || { echo "the SMTP sink did not start" >&2; exit 1; }

start="$(date +%s.%N)"
/usr/bin/time -f "%M %U %S" -o "$work/rss" "$bin" remind --campaign "$id" --channel email \
  --smtp-url "smtp://127.0.0.1:$port" --smtp-from "BKPSDM Uji <noreply@bkpsdm.uji.test>" \
  --public-url http://127.0.0.1:18080 2> "$work/remind.log"
end="$(date +%s.%N)"
accepted="$(find "$work/mail" -name '*.eml' | wc -l)"
tail -n 3 "$work/remind.log" >&2
read -r rss user sys < "$work/rss"
awk -v s="$start" -v e="$end" -v n="$accepted" -v rss="$rss" -v u="$user" -v y="$sys" 'BEGIN {
  t = e - s
  printf "%d reminder emails accepted in %.1f s (%.0f/s); ikrar remind: %.1f s user + %.1f s system CPU, peak RSS %.0f MiB\n", n, t, n / t, u, y, rss / 1024
}'
