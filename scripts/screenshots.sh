#!/usr/bin/env bash
# Starts the real Front Desk under a private Xvfb on a demo store, drives it
# with xdotool through the main screens and writes PNGs for the README.
#   scripts/screenshots.sh ./frontdesk docs/screenshots
set -euo pipefail
bin=$(realpath "${1:-./frontdesk}")
out=${2:-docs/screenshots}
mkdir -p "$out"
out=$(realpath "$out")
tmp=$(mktemp -d)
export XDG_CONFIG_HOME=$tmp/config LANG=en_US.UTF-8
data=$tmp/data
app="" xvfb=""
cleanup() { [ -n "$app" ] && kill "$app" 2>/dev/null; [ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# The store is encrypted: set it up with a demo admin, whose name and
# password the commands below sign in with (and signin types at the window).
export FRONTDESK_USER="Demo Admin" FRONTDESK_PASSWORD="demo admin password"
FRONTDESK_NEW_PASSWORD=$FRONTDESK_PASSWORD "$bin" setup --admin "$FRONTDESK_USER" --data "$data" >/dev/null
"$bin" seed --patients 400 --data "$data" >/dev/null 2>&1

# A patient whose evaluation answered YES to a red flag, and one to duplicate.
read -r urgent_name urgent_given urgent_family urgent_dob < <(
	"$bin" export --json --data "$data" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
urgent = {i["patient_id"] for i in d["intakes"] if i.get("red_flags") == "urgent"}
# Prefer a Latin-script name (xdotool types it reliably), else any urgent patient.
ps = sorted((p for p in d["patients"] if p["id"] in urgent), key=lambda p: not (p["given_name"] + p["family_name"]).isascii())
p = (ps or d["patients"])[0]
print(p["given_name"] + "_" + p["family_name"], p["given_name"], p["family_name"], p["date_of_birth"])
')

export DISPLAY=:$((100 + RANDOM % 400))
Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp -noreset >/dev/null 2>&1 &
xvfb=$!
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

signin() { # the window opens on the sign-in screen, its name field focused
	xdotool type --delay 40 "$FRONTDESK_USER"
	xdotool key --clearmodifiers Tab
	xdotool type --delay 40 "$FRONTDESK_PASSWORD"
	xdotool key --clearmodifiers Return
	sleep 2
}
start() { # start [env...]: the app (with $args), wait for its window, sign in
	# The window gets no credentials: it is signed in to the way staff do.
	env -u FRONTDESK_USER -u FRONTDESK_PASSWORD "$@" "$bin" --data "$data" ${args:-} >"$tmp/app.log" 2>&1 &
	app=$!
	for _ in $(seq 100); do xdotool search --name '^Front Desk$' >/dev/null 2>&1 && break; sleep 0.1; done
	sleep 1.5
	signin
}
stop() { kill -TERM "$app"; wait "$app" || true; app=""; }
shot() { sleep "${2:-0.8}"; import -window root -crop 1100x748+0+0 "$out/$1.png"; echo "wrote $out/$1.png"; }
key() { xdotool key --clearmodifiers "$@"; }
typ() { xdotool type --delay 40 "$1"; }
click() { xdotool mousemove "$1" "$2" click 1; }

start FYNE_THEME=dark
shot 01-patients
key ctrl+f; typ "${urgent_given} ${urgent_family}"; sleep 0.5; key Down
shot 02-patient
click 1065 211 # the newest intake's Open button
shot 03-intake-red-flag
key ctrl+n
typ "${urgent_given}"; key Tab; typ "${urgent_family}"; key Tab; key Tab; typ "${urgent_dob}"
key ctrl+s
shot 04-duplicate-warning
click 472 426 # Cancel
click 231 49 # Settings tab
shot 05-settings
stop

start FYNE_THEME=light
click 40 49 # Patients tab
key ctrl+f; typ "zo"
shot 06-search-light
stop

args=--demo start FYNE_THEME=dark
sleep 2 # the demo mailbox's first check
click 130 49 # Requests tab
click 150 168 # the newest request
shot 07-requests 1.5
stop
