#!/usr/bin/env bash
# Installs augcore's dependencies; idempotent, safe to re-run.
#   tools/install_deps.sh           Debian packages (third_party/debian-packages.txt)
#   tools/install_deps.sh --torch2  also the modern toolchain: PyPI's CUDA PyTorch, torchvision
#                                   and timm (third_party/python-torch2.txt) in a virtual
#                                   environment outside the checkout, reused by every clone
#   tools/install_deps.sh --torch2-venv   prints that environment's path (installs nothing)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
list="$here/third_party/debian-packages.txt"
pins="$here/third_party/python-torch2.txt"
venv="${AUGCORE_TORCH2_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/augcore/torch2}"

torch2=0
for arg in "$@"; do
  case "$arg" in
    --torch2) torch2=1 ;;
    --torch2-venv) echo "$venv"; exit 0 ;;
    *) echo "usage: tools/install_deps.sh [--torch2 | --torch2-venv]" >&2; exit 2 ;;
  esac
done

install_debian() {
  local wanted missing=() pkg status sudo=""
  mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$list" | grep -v '^$')
  for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install_deps: all ${#wanted[@]} Debian packages present"
    return
  fi
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null ||
      { echo "install_deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 2; }
    sudo="sudo"
  fi
  echo "install_deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The venv is keyed by the pin file's hash: an unchanged one is a no-op, a changed one is
# installed into the existing venv (pip adds or replaces only what changed), and an
# interrupted install never counts as done (the stamp is written last).
install_torch2() {
  local want stamp="$venv/.augcore-pins" log
  want="$(sha256sum "$pins" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "install_deps: modern toolchain present ($venv)"
    return
  fi
  echo "install_deps: installing the modern toolchain into $venv (several GB, once per machine)"
  rm -f "$stamp"
  if [[ ! -x "$venv/bin/pip" ]]; then
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    /usr/bin/python3 -m venv "$venv"
  fi
  log="$(mktemp)"
  if ! "$venv/bin/pip" install --disable-pip-version-check --no-input --retries 2 --timeout 30 \
      -r "$pins" >"$log" 2>&1; then
    if grep -qE 'NewConnectionError|ConnectTimeout|ReadTimeout|Max retries exceeded|Temporary failure in name resolution|Network is unreachable|No matching distribution' "$log"; then
      echo "install_deps: cannot reach the Python package index to install $pins (pip log: $log)" >&2
    else
      echo "install_deps: pip failed installing $pins: $(grep -E '^ERROR' "$log" | tail -1) (pip log: $log)" >&2
    fi
    exit 1
  fi
  rm -f "$log"
  echo "$want" >"$stamp"
  echo "install_deps: modern toolchain installed: $("$venv/bin/python" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)')"
}

install_debian
if [[ $torch2 -eq 1 ]]; then install_torch2; fi
