#!/usr/bin/env bash
# Prepares, on this Debian 12 machine, what tools/gpu_check.sh needs on a machine that has CUDA
# PyTorch (its LibTorch), CMake and a compiler but none of augcore's other libraries: their
# Debian packages (headers, and the shared libraries they load minus those the target already
# has) in OUT/debs, and with --data a Fashion-MNIST subset for the tests in OUT/data. The
# whole folder is what travels; gpu_check.sh unpacks it there.
#
#   tools/gpu_bundle.sh [--have FILE] [--data] [OUT]      (OUT defaults to .gpu-bundle)
#
# --have FILE: `ldconfig -p` as printed on the target; libraries it lists are left out, which
# keeps the bundle small. Without it only the C/C++ runtime is assumed there.
# --data: the first 12000 training and 2000 test images of Fashion-MNIST (IDX headers
# rewritten to those counts, 6 MiB instead of 30): the tests use at most a few thousand.
set -euo pipefail

have=""
out=".gpu-bundle"
data=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --have) have="$2"; shift 2 ;;
    --data) data=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) out="$1"; shift ;;
  esac
done
if [[ -n "$have" && ! -r "$have" ]]; then
  echo "gpu_bundle: cannot read --have file '$have'" >&2
  exit 2
fi

arch_dir=/usr/lib/x86_64-linux-gnu
# Headers and link-time files (OpenCV through its headers and libraries alone: its CMake
# package would want every module, see CMakeLists.txt).
dev_packages=(libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
              libjpeg62-turbo-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
              libgtest-dev libgmock-dev)
# The libraries libaugcore loads besides LibTorch, and everything they load in turn.
roots=(libopencv_core.so.406 libopencv_imgproc.so.406 libopencv_imgcodecs.so.406 libjpeg.so.62
       libyaml-cpp.so.0.7 libspdlog.so.1.10 libfmt.so.9)
# Present wherever PyTorch runs.
base_packages="libc6 libstdc++6 libgcc-s1 zlib1g"

declare -A needed=()
for root in "${roots[@]}"; do
  [[ -e "$arch_dir/$root" ]] || { echo "gpu_bundle: $arch_dir/$root missing; run tools/install_deps.sh" >&2; exit 2; }
  needed["$root"]="$arch_dir/$root"
  while read -r name _ path _; do
    [[ -n "$path" && "$path" == /* ]] && needed["$name"]="$path"
  done < <(ldd "$arch_dir/$root" | grep '=>')
done

declare -A packages=()
for name in "${!needed[@]}"; do
  if [[ -n "$have" ]] && grep -q "^[[:space:]]*$name " "$have"; then continue; fi
  real=$(readlink -f "${needed[$name]}")
  pkg=""
  # dpkg knows each file by one spelling: with or without /usr (merged /usr), link or target.
  for path in "${needed[$name]}" "$real" "${real#/usr}" "/usr${needed[$name]}"; do
    pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1) && [[ -n "$pkg" ]] && break
  done
  [[ -z "$pkg" ]] && { echo "gpu_bundle: no package owns ${needed[$name]}" >&2; exit 2; }
  [[ " $base_packages " == *" $pkg "* ]] || packages["$pkg"]=1
done
for pkg in "${dev_packages[@]}"; do packages["$pkg"]=1; done

mkdir -p "$out/debs"
(cd "$out/debs" && apt-get download "${!packages[@]}" >/dev/null)

if [[ $data -eq 1 ]]; then
  mkdir -p "$out/data/fashion-mnist"
  /usr/bin/python3 - /usr/share/datasets/fashion-mnist "$out/data/fashion-mnist" <<'PY'
import gzip, struct, sys
src, dst = sys.argv[1:]
for split, count in (("train", 12000), ("t10k", 2000)):
    for kind, dims in (("images-idx3-ubyte", 3), ("labels-idx1-ubyte", 1)):
        with gzip.open(f"{src}/{split}-{kind}.gz") as f:
            header = f.read(4 + 4 * dims)
            shape = list(struct.unpack(f">{dims}I", header[4:]))
            per_item = 1
            for d in shape[1:]:
                per_item *= d
            body = f.read(count * per_item)
        shape[0] = count
        with gzip.open(f"{dst}/{split}-{kind}.gz", "wb") as f:
            f.write(header[:4] + struct.pack(f">{dims}I", *shape) + body)
PY
fi

size=$(du -sm "$out/debs" | cut -f1)
total=$(du -sm "$out" | cut -f1)
echo "gpu_bundle: ${#packages[@]} packages, ${size} MiB; ${total} MiB in $out in all (carry it; run tools/gpu_check.sh --bundle $out there)"
