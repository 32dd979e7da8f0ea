"""Builds augcore's Python extension against the torch installed in this environment.

    pip install --no-build-isolation ./python

The C++ library is built first with CMake (Release, the library only, against this torch's
LibTorch) into python/build/libaugcore-<torch version>/, unless AUGCORE_LIBRARY names a
libaugcore.so already built against the same torch (tools/test.sh --torch2 passes its own).
The library is copied into the package, so the installed package needs nothing from the
checkout. The system libraries the C++ build needs come from tools/install_deps.sh.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIBRARY_NAME = "libaugcore.so.0"


def cmake_library():
    """Builds libaugcore with CMake against this torch; returns the library's path."""
    build = HERE / "build" / f"libaugcore-{torch.__version__}"
    configure = [
        "cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
        "-DAUGCORE_BUILD_TESTS=OFF", "-DAUGCORE_BUILD_TOOLS=OFF",
        f"-DCMAKE_PREFIX_PATH={os.path.dirname(torch.__file__)}",
    ]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    if torch.version.cuda:
        configure.append(f"-DCUDAToolkit_ROOT={os.environ.get('CUDA_HOME', '/usr/local/cuda')}")
    jobs = os.environ.get("AUGCORE_JOBS", str(os.cpu_count() or 1))
    try:
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "augcore", "-j", jobs],
                       check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        sys.exit(f"augcore: building libaugcore with CMake failed ({error}); "
                 "install the build dependencies with tools/install_deps.sh")
    return build / "lib" / LIBRARY_NAME


def library():
    given = os.environ.get("AUGCORE_LIBRARY")
    path = Path(given) if given else cmake_library()
    if not path.exists():
        sys.exit(f"augcore: AUGCORE_LIBRARY: {path} does not exist")
    return path.resolve()


class Build(BuildExtension):
    """Builds libaugcore (or takes AUGCORE_LIBRARY), copies it into the package, then links the
    extension against the copy."""

    def run(self):
        source = library()
        package = Path(self.build_lib) / "augcore"
        package.mkdir(parents=True, exist_ok=True)
        # The torch the extension is compiled against, read before the extension is loaded.
        version = ".".join(torch.__version__.split(".")[:2])
        build_info = f'"""Written by setup.py."""\nTORCH_VERSION = "{version}"\n'
        targets = [package] + ([HERE / "augcore"] if self.inplace else [])
        for target in targets:
            shutil.copyfile(source, target / LIBRARY_NAME)
            (target / "_build_info.py").write_text(build_info)
        for extension in self.extensions:
            extension.extra_link_args += [str(package / LIBRARY_NAME), "-Wl,-rpath,$ORIGIN"]
        super().run()


setup(
    packages=["augcore"],
    ext_modules=[
        CppExtension(
            "augcore._C",
            sources=sorted(str(p.relative_to(HERE)) for p in (HERE / "src").glob("*.cpp")),
            include_dirs=[str(ROOT / "include"), str(HERE / "src")],
            extra_compile_args=["-O2", "-g0"],  # no debug info: a third of the build time
        )
    ],
    cmdclass={"build_ext": Build.with_options(use_ninja=bool(shutil.which("ninja")))},
)
