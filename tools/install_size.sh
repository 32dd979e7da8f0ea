#!/usr/bin/env bash
# Prints what tools/install_deps.sh installs on a bare Debian 12 (no package present): the
# number of packages and their installed size, from apt's simulation against an empty package
# database. Extra arguments replace the list (e.g. to size one package with its dependencies).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -gt 0 ]]; then
  wanted=("$@")
else
  mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/third_party/debian-packages.txt" |
    grep -v '^$')
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
: >"$work/status"
apt-get install -s -qq -o Dir::State::status="$work/status" --no-install-recommends "${wanted[@]}" |
  awk '/^Inst /{print $2}' >"$work/packages"
kib=$(xargs apt-cache show --no-all-versions <"$work/packages" |
  awk '/^Installed-Size:/{s += $2} END{print s}')
echo "$(wc -l <"$work/packages") packages, $((kib / 1024)) MiB installed"
