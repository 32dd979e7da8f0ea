# Sourced by the CLI test scripts: a temporary directory $tmp, removed at exit together with any
# child process still running; fail() prints and counts a failure in $fails; wait_for_lines.
tmp=$(mktemp -d)
trap 'pkill -9 -P $$ 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

# wait_for_lines FILE N: waits until FILE has at least N lines (up to 5 minutes: sanitizer
# builds are slow); returns 1 if it never does.
wait_for_lines() {
  for _ in $(seq 6000); do
    [[ -f "$1" && $(wc -l <"$1") -ge $2 ]] && return 0
    sleep 0.05
  done
  return 1
}
