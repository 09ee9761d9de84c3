#!/usr/bin/env bash
# Starts the real binary under a private Xvfb on a temporary store, waits for
# its window to appear, then asks it to quit while the pointer moves over the
# window (Fyne 2.7.1 could crash or hang on that path; ui.App.Quit and main's
# watchdog are the fix). Several rounds, because the failures were races.
# Xvfb runs with -noreset: without it the server resets whenever its last
# client leaves (xdpyinfo, a quitting round) and refuses connections meanwhile.
# Fails if it cannot start, does not exit 0, or takes longer than 15 s to quit.
set -euo pipefail
bin=${1:-./frontdesk}
rounds=${SMOKE_ROUNDS:-5}
tmp=$(mktemp -d)
xvfb=""
jiggle=""
trap 'kill $jiggle $xvfb 2>/dev/null || true; [ -n "${SMOKE_KEEP:-}" ] || rm -rf "$tmp"' EXIT

display=:$((90 + RANDOM % 400))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp -noreset >"$tmp/xvfb.log" 2>&1 &
xvfb=$!
for _ in $(seq 50); do xdpyinfo -display "$display" >/dev/null 2>&1 && break; sleep 0.1; done
xdpyinfo -display "$display" >/dev/null 2>&1 || { echo "smoke: Xvfb did not start" >&2; cat "$tmp/xvfb.log" >&2; exit 1; }

for round in $(seq "$rounds"); do
	log=$tmp/app-$round.log
	DISPLAY=$display XDG_CONFIG_HOME=$tmp/config "$bin" --data "$tmp/data" >"$log" 2>&1 &
	app=$!
	ok=""
	for _ in $(seq 100); do
		if DISPLAY=$display xdotool search --name '^Front Desk$' >/dev/null 2>&1; then ok=1; break; fi
		kill -0 "$app" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$ok" ]; then
		echo "smoke: round $round: the window did not appear within 10 s" >&2
		cat "$log" >&2
		kill -0 "$xvfb" 2>/dev/null || echo "smoke: Xvfb $display is gone; its log:" >&2
		cat "$tmp/xvfb.log" >&2
		kill "$app" 2>/dev/null || true
		exit 1
	fi
	# The pointer crosses the sign-in fields (text cursor) and the background.
	(for k in $(seq 60); do
		DISPLAY=$display xdotool mousemove $((100 + (k * 37) % 900)) $((100 + (k * 53) % 500)) 2>/dev/null || true
	done) &
	jiggle=$!
	sleep "0.$((RANDOM % 5))"
	kill -TERM "$app"
	for _ in $(seq 150); do kill -0 "$app" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$app" 2>/dev/null; then
		kill -QUIT "$app" 2>/dev/null || true
		sleep 0.5
		echo "smoke: round $round: frontdesk did not quit within 15 s of SIGTERM; its goroutines:" >&2
		cat "$log" >&2
		exit 1
	fi
	status=0
	wait "$app" || status=$?
	kill "$jiggle" 2>/dev/null || true
	wait "$jiggle" 2>/dev/null || true
	jiggle=""
	if [ "$status" -ne 0 ]; then
		echo "smoke: round $round: frontdesk exited with status $status after SIGTERM" >&2
		cat "$log" >&2
		exit 1
	fi
	grep -h "did not finish closing" "$log" | sed "s/^/smoke: round $round: /" || true
done
echo "smoke: $bin started, showed its window and quit cleanly, $rounds times"
