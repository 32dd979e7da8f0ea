#!/usr/bin/env bash
# Prepares, on this Debian 12 machine, what building augcore needs on a machine that has CUDA
# PyTorch (its LibTorch), CMake and a compiler but none of augcore's other libraries: their
# Debian packages (headers, and the shared libraries they load minus those the target already
# has), plus build.sh, which unpacks them there into a prefix and builds against the target's
# LibTorch. The whole folder is what travels.
#
#   tools/gpu_bundle.sh [--have FILE] [OUT]      (OUT defaults to .gpu-bundle)
#
# --have FILE: `ldconfig -p` as printed on the target; libraries it lists are left out, which
# keeps the bundle small. Without it only the C/C++ runtime is assumed there.
set -euo pipefail

have=""
out=".gpu-bundle"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --have) have="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
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

cat > "$out/build.sh" <<'EOS'
#!/usr/bin/env bash
# Run on the GPU machine from augcore's repository root: unpacks the carried packages into
# PREFIX (default /tmp/augcore-deps) and builds augcore in build-cuda against python3's
# PyTorch (CUDA). Then: source "$(dirname "$0")/env.sh" before running build-cuda/bin/*.
set -euo pipefail
bundle=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-/tmp/augcore-deps}
mkdir -p "$prefix"
for deb in "$bundle"/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
cat > "$bundle/env.sh" <<EOF
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:$prefix/lib/x86_64-linux-gnu:\${LD_LIBRARY_PATH:-}"
export CPATH="$prefix/usr/include/x86_64-linux-gnu:$prefix/usr/include:\${CPATH:-}"
EOF
source "$bundle/env.sh"
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr;$prefix/usr/lib/x86_64-linux-gnu/cmake" \
  -DCMAKE_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu" -DCMAKE_INCLUDE_PATH="$prefix/usr/include"
cmake --build build-cuda
EOS
chmod +x "$out/build.sh"

size=$(du -sm "$out/debs" | cut -f1)
echo "gpu_bundle: ${#packages[@]} packages, ${size} MiB in $out (carry it; run $out/build.sh there)"
