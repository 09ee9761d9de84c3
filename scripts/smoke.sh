#!/usr/bin/env bash
# Starts the real binary under a private Xvfb on a temporary store, waits for
# its window to appear, then asks it to quit. Fails if it cannot start.
set -euo pipefail
bin=${1:-./frontdesk}
tmp=$(mktemp -d)
trap 'kill "$xvfb" 2>/dev/null || true; rm -rf "$tmp"' EXIT

display=:$((90 + RANDOM % 400))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
xvfb=$!
for _ in $(seq 50); do xdpyinfo -display "$display" >/dev/null 2>&1 && break; sleep 0.1; done

DISPLAY=$display XDG_CONFIG_HOME=$tmp/config "$bin" --data "$tmp/data" >"$tmp/app.log" 2>&1 &
app=$!
ok=""
for _ in $(seq 100); do
	if DISPLAY=$display xdotool search --name '^Front Desk$' >/dev/null 2>&1; then ok=1; break; fi
	kill -0 "$app" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$ok" ]; then
	echo "smoke: the window did not appear within 10 s" >&2
	cat "$tmp/app.log" >&2
	kill "$app" 2>/dev/null || true
	exit 1
fi
kill -TERM "$app"
status=0
wait "$app" || status=$?
if [ "$status" -ne 0 ]; then
	echo "smoke: frontdesk exited with status $status after SIGTERM" >&2
	cat "$tmp/app.log" >&2
	exit 1
fi
echo "smoke: $bin started, showed its window and quit cleanly"
