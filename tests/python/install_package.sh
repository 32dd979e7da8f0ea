#!/usr/bin/env bash
# Installs the Python package the documented way (pip, no build isolation) into a target
# directory, linking the libaugcore of the build under test.
#   install_package.sh PYTHON LIBAUGCORE TARGET_DIR
set -euo pipefail
python="$1" library="$2" target="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rm -rf "$target"
# Through ccache where it is installed (its compiler links first on PATH): pip builds in the
# checkout, so with the checkout as ccache's base directory every clone's compile is the same.
if [[ -d /usr/lib/ccache ]] && command -v ccache >/dev/null; then
  # The size limit the CMake builds give ccache: under the default 5 GB, this compile would
  # trim the shared cache, the other builds' objects first.
  export PATH="/usr/lib/ccache:$PATH" CCACHE_BASEDIR="$(cd "$root" && pwd -P)" CCACHE_NOHASHDIR=1 \
    CCACHE_MAXSIZE=12G
fi
start=$SECONDS
AUGCORE_LIBRARY="$library" "$python" -m pip install --disable-pip-version-check --no-input \
  --no-build-isolation --no-deps --target "$target" "$root/python"
echo "install_package: built and installed in $((SECONDS - start)) s"
"$python" -c "import sys; sys.path.insert(0, '$target'); import augcore, torch; print(augcore.Cutout(16)(torch.rand(4, 3, 32, 32)).shape)"
