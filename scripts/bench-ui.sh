#!/usr/bin/env bash
# The window's speed at 100,000 patients, under Xvfb: start-up to first
# frame, sign-in to unlocked and to the list refilled (list-reload),
# keystroke to list updated while typing names, idle CPU and memory
# after a minute. Prints figures; asserts nothing.
#   scripts/bench-ui.sh ./frontdesk [PATIENTS] [IDLE_SECONDS]
set -euo pipefail
bin=$(realpath "${1:-./frontdesk}")
patients=${2:-100000}
idle=${3:-60}
tmp=$(mktemp -d)
export XDG_CONFIG_HOME=$tmp/config LANG=en_US.UTF-8
app=""
cleanup() { [ -n "$app" ] && kill "$app" 2>/dev/null; kill "$xvfb" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# The store is encrypted: set up with a demo admin (a kept store in
# $FRONTDESK_BENCH_UI_STORE must have this admin, or give FRONTDESK_USER and
# FRONTDESK_PASSWORD), whose name and password seed uses and signin types.
export FRONTDESK_USER=${FRONTDESK_USER:-Demo Admin} FRONTDESK_PASSWORD=${FRONTDESK_PASSWORD:-demo admin password}
data=${FRONTDESK_BENCH_UI_STORE:-$tmp/data}
if [ ! -e "$data/frontdesk.db" ]; then
	FRONTDESK_NEW_PASSWORD=$FRONTDESK_PASSWORD "$bin" setup --admin "$FRONTDESK_USER" --data "$data" >/dev/null
	echo "seeding $patients patients…"
	"$bin" seed --patients "$patients" --data "$data" 2>/dev/null
fi

signin() { # the window opens on the sign-in screen, its name field focused
	xdotool type --delay 40 "$FRONTDESK_USER"
	xdotool key --clearmodifiers Tab
	xdotool type --delay 40 "$FRONTDESK_PASSWORD"
	xdotool key --clearmodifiers Return
	sleep 2
}

export DISPLAY=:$((100 + RANDOM % 400))
Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp -noreset >/dev/null 2>&1 &
xvfb=$!
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

# The window gets no credentials: it is signed in to the way staff do.
env -u FRONTDESK_USER -u FRONTDESK_PASSWORD FRONTDESK_TIMING=1 "$bin" --data "$data" 2>"$tmp/timing.log" &
app=$!
for _ in $(seq 300); do grep -q first-frame-total "$tmp/timing.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
signin
for _ in $(seq 300); do grep -q unlocked "$tmp/timing.log" 2>/dev/null && break; sleep 0.1; done
sleep 1; grep -E "store-open|first-frame|unlocked|list-reload" "$tmp/timing.log" | sed 's/^timing /  /'

xdotool key --clearmodifiers ctrl+f
: >"$tmp/timing.log.keys"
for name in "maria garcia" "nguyen" "zoe" "kowalski" "555 0"; do
	xdotool type --delay 120 "$name"
	sleep 0.5
	xdotool key --clearmodifiers ctrl+a BackSpace
	sleep 0.5
done
grep keystroke-to-list "$tmp/timing.log" | awk '{print $3}' >"$tmp/keys.seq"; sort -n "$tmp/keys.seq" >"$tmp/keys"; [ -n "${BENCH_UI_VERBOSE:-}" ] && tr "\n" " " <"$tmp/keys.seq" && echo
n=$(wc -l <"$tmp/keys")
if [ "$n" -gt 0 ]; then
	p50=$(awk -v n="$n" 'NR==int((n+1)*0.50){print}' "$tmp/keys")
	p99=$(awk -v n="$n" 'NR==(int(n*0.99)>0?int(n*0.99):1){print}' "$tmp/keys")
	max=$(tail -1 "$tmp/keys")
	echo "  keystroke-to-list: $n keystrokes, p50 ${p50} ms, p99 ${p99} ms, max ${max} ms"
fi

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$app/stat"; }
c0=$(cpu)
sleep "$idle"
c1=$(cpu)
rss=$(awk '/VmRSS/{print $2}' "/proc/$app/status")
awk -v c0="$c0" -v c1="$c1" -v t="$ticks" -v s="$idle" -v rss="$rss" \
	'BEGIN{printf "  idle over %d s: %.2f%% of one core, RSS %.0f MB\n", s, 100*(c1-c0)/t/s, rss/1024}'
kill -TERM "$app"; wait "$app" || true; app=""
