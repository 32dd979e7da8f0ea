#!/usr/bin/env bash
# Installs dependencies (if missing), builds, runs the tests (unit, CLI, kill-and-resume and
# the fuzz corpus replay), then installs augcore into a prefix and builds and runs the outside
# projects examples/single_policy and examples/external_trainer against it.
#   (no flag)   Debian's LibTorch 1.13 (CPU), in build/
#   --torch2    the modern toolchain: PyPI's CUDA LibTorch 2.x from the venv that
#               tools/install_deps.sh --torch2 keeps outside the checkout, in build-torch2/;
#               the whole suite on CPU (GPU tests skip without a GPU), Python references from
#               the venv (torchvision 0.26, timm's own ViT); checks libaugcore links
#               libtorch_cuda.so and that the build has CUDA support; also pip-installs the
#               Python package (python/) into the build and runs its tests (ctest python.*)
#   --sanitize  clang, AddressSanitizer + UndefinedBehaviorSanitizer and libFuzzer (Debian's
#               LibTorch), in build-sanitize/, the same tests but those labelled `long`
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${AUGCORE_JOBS:-$(nproc)}"
mode=debian
for arg in "$@"; do
  case "$arg" in
    --sanitize) mode=sanitize ;;
    --torch2) mode=torch2 ;;
    *) echo "usage: tools/test.sh [--torch2 | --sanitize]" >&2; exit 2 ;;
  esac
done

# Both compilers record the directory a precompiled header was built in (clang also gets it as
# `-Xclang -include -Xclang <absolute path>`, which ccache cannot make relative), and ccache
# hashes it: every fresh clone (CI's) compiled cold. Building through one fixed path per mode,
# a link to whichever checkout runs it (one at a time, under a lock), gives every clone the
# same paths and so ccache's objects. Always for the sanitizer build; for the other two when
# AUGCORE_STABLE_PATHS=1 (.ci/run sets it), since a developer's build/ configured through the
# link would follow it to whichever checkout ran last.
use_stable_path() {  # use_stable_path NAME: sets source_dir to the link, points it at $root
  stable="${XDG_CACHE_HOME:-$HOME/.cache}/augcore/$1"
  mkdir -p "$(dirname "$stable")"
  exec {lock}>"$stable.lock"
  flock -w 3600 "$lock" || { echo "test.sh: $stable.lock is held by another run" >&2; exit 1; }
  ln -sfn "$root" "$stable"
  source_dir="$stable"
}

source_dir=
configure=(-G Ninja -DAUGCORE_BUILD_TESTS=ON)
case "$mode" in
  debian)
    "$root/tools/install_deps.sh"
    [[ ${AUGCORE_STABLE_PATHS:-0} == 1 ]] && use_stable_path debian-checkout
    build="${AUGCORE_BUILD_DIR:-${source_dir:-$root}/build}"
    configure+=(-DCMAKE_BUILD_TYPE=Release)
    # TensorBoard's reader for cli.tensorboard_events lives in the modern toolchain's venv.
    tb_python="$("$root/tools/install_deps.sh" --torch2-venv)/bin/python"
    [[ -x $tb_python ]] && configure+=(-DAUGCORE_TENSORBOARD_PYTHON="$tb_python")
    ;;
  torch2)
    "$root/tools/install_deps.sh" --torch2
    venv="$("$root/tools/install_deps.sh" --torch2-venv)"
    torch_root="$("$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')"
    [[ ${AUGCORE_STABLE_PATHS:-0} == 1 ]] && use_stable_path torch2-checkout
    build="${AUGCORE_TORCH2_BUILD_DIR:-${source_dir:-$root}/build-torch2}"
    configure+=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_root"
      -DCUDAToolkit_ROOT="${CUDA_HOME:-/usr/local/cuda}" -DAUGCORE_TEST_PYTHON="$venv/bin/python"
      -DAUGCORE_TEST_TIMM=ON -DAUGCORE_TEST_PYTHON_PACKAGE=ON)
    ;;
  sanitize)
    "$root/tools/install_deps.sh"
    use_stable_path sanitize-checkout
    build="${AUGCORE_SANITIZE_BUILD_DIR:-$stable/build-sanitize}"
    configure+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DAUGCORE_FUZZ=ON)
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    ;;
esac

echo "== configure and build: $mode ($build)"
mkdir -p "$build"
cmake -S "${source_dir:-$root}" -B "$build" "${configure[@]}" | tee "$build/configure.log" | grep -E '^-- augcore'
# From inside, so that PWD names the build directory as configured (the fixed path, where one
# is used): the compilers record that path in their PCH, and ccache hashes it.
(cd "$build" && cmake --build . -j "$jobs")

if [[ $mode == torch2 ]]; then
  grep -q 'augcore: Torch 2\..*CUDA support: ON' "$build/configure.log" ||
    { echo "test.sh: the modern build does not have CUDA support" >&2; exit 1; }
  # ldd's whole output first: `ldd | grep -q` under pipefail fails when grep stops reading early
  # and ldd dies of SIGPIPE.
  libs="$(ldd "$build/lib/libaugcore.so")"
  grep -q 'libtorch_cuda\.so' <<<"$libs" ||
    { echo "test.sh: $build/lib/libaugcore.so does not link libtorch_cuda.so" >&2; exit 1; }
  echo "== libaugcore.so links $(grep -o 'libtorch_cuda\.so => [^ ]*' <<<"$libs")"
fi

echo "== unit, CLI, resume and fuzz-corpus tests ($mode)"
ctest_args=(--output-on-failure -j "$jobs" --timeout 1500)
# The long end-to-end runs (kill-and-resume, data parallel, sweeps, TensorBoard: label `long`)
# run in the two release suites; under the sanitizers they took 1250 s of CI's 90 minutes.
[[ $mode == sanitize ]] && ctest_args+=(-LE long)
(cd "$build" && ctest "${ctest_args[@]}")

if [[ $mode != sanitize ]]; then
  echo "== install, then build and run the outside projects in examples/ against it ($mode)"
  prefix="$build/test-install"
  rm -rf "$prefix"
  cmake --install "$build" --prefix "$prefix" >/dev/null
  prefixes="$prefix${torch_root:+;$torch_root}"
  for example in single_policy external_trainer; do
    rm -rf "$build/examples/$example"
    cmake -S "$root/examples/$example" -B "$build/examples/$example" -G Ninja \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefixes" >/dev/null
    cmake --build "$build/examples/$example" -j "$jobs"
  done
  "$build/examples/single_policy/single_policy"
  "$build/examples/external_trainer/external_trainer"
  echo "== the installed mra_train finds the installed recipes by name"
  recipes="$(cd /tmp && "$prefix/bin/mra_train" --list-recipes)"
  grep -q '^imagenet/imagenet_r50 ' <<<"$recipes" ||
    { echo "test.sh: $prefix/bin/mra_train does not list imagenet/imagenet_r50" >&2; exit 1; }
fi
echo "== all tests passed ($mode)"
