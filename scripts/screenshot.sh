#!/bin/sh
# Regenerates the README's screenshots from a real run: the dashboard on the embedded demo
# cluster under tmux, with forwards active and some traffic through them, captured with its
# colours (`tmux capture-pane -e`) and rendered to SVG by scripts/ansi2svg.py.
#
#   scripts/screenshot.sh            # builds the release binary if needed
#   BIN=target/debug/hasura-tui scripts/screenshot.sh
#
# Writes assets/dashboard.svg and assets/logs.svg. Needs tmux, curl and python3.
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/hasura-tui}
[ -x "$BIN" ] || cargo build --release --locked
WIDTH=130
HEIGHT=22
tmp=$(mktemp -d)
sock="hasura-tui-screenshot-$$"
t() { tmux -L "$sock" "$@"; }
trap 't kill-server 2>/dev/null; rm -rf "$tmp"' EXIT

# The demo cluster as its own process, with pods writing a line a second (--churn), and my-app
# scaled to two pods (kubectl, if present) so the logs pane shows pods interleaved.
"$BIN" demo-cluster --churn --write-kubeconfig "$tmp/kubeconfig" > "$tmp/demo.out" 2>&1 &
demo=$!
trap 't kill-server 2>/dev/null; kill $demo 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
until [ -s "$tmp/kubeconfig" ]; do
    i=$((i + 1)); [ "$i" -lt 100 ] || { echo "screenshot: the demo cluster did not start" >&2; exit 1; }
    sleep 0.1
done
if command -v kubectl >/dev/null; then
    kubectl --kubeconfig "$tmp/kubeconfig" -n default scale deployment my-app --replicas=2 >/dev/null
fi

# A private tmux server and config directory: no saved forwards, no user settings.
t -f /dev/null new-session -d -s shot -x "$WIDTH" -y "$HEIGHT" \
    "env HOME=$tmp XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state TERM=xterm-256color $BIN --kubeconfig $tmp/kubeconfig"

wait_for() { # wait_for TEXT: until the screen shows TEXT (30 s at most)
    i=0
    until t capture-pane -p -t shot | grep -q -- "$1"; do
        i=$((i + 1))
        [ "$i" -lt 300 ] || { echo "screenshot: gave up waiting for '$1'" >&2; t capture-pane -p -t shot >&2; exit 1; }
        sleep 0.1
    done
}
addr_of() { t capture-pane -p -t shot | grep "^$1 " | grep -o '127\.0\.0\.1:[0-9]*' | head -n 1; }

wait_for synced
t send-keys -t shot f            # my-app
t send-keys -t shot Tab j f      # data
t send-keys -t shot j f          # filestore
wait_for '3 forwards'
for name in my-app data filestore; do
    until [ -n "$(addr_of "$name")" ]; do sleep 0.1; done
done
for path in /v1/version /v1/query /healthz; do
    curl -fsS "http://$(addr_of data)$path" >/dev/null
done
curl -fsS "http://$(addr_of my-app)/" >/dev/null
sleep 1.5                        # the counters refresh once a second
t send-keys -t shot k            # select data again
sleep 0.3
t capture-pane -e -p -t shot > "$tmp/dashboard.ansi"
python3 scripts/ansi2svg.py --width "$WIDTH" < "$tmp/dashboard.ansi" > assets/dashboard.svg

t send-keys -t shot Tab l         # my-app's logs
wait_for 'handled request #8'
t capture-pane -e -p -t shot > "$tmp/logs.ansi"
python3 scripts/ansi2svg.py --width "$WIDTH" < "$tmp/logs.ansi" > assets/logs.svg
t send-keys -t shot Escape
sleep 0.2
t send-keys -t shot q
echo "wrote assets/dashboard.svg and assets/logs.svg"
