"""Builds the _heed extension with this project's CMake (the library the heed CLI links) and
packages it with python/heed. Called by `pip install --no-build-isolation .` through
setuptools; HEED_BUILD_DIR picks the CMake build folder (default build-python/)."""
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.environ.get("HEED_BUILD_DIR", os.path.join(ROOT, "build-python"))
        configure = ["cmake", "-S", ROOT, "-B", build_dir]
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            # A new build folder holds the module only, for this interpreter; an existing one
            # (HEED_BUILD_DIR=build) keeps its settings, so the library and module already built
            # there (for Debian's python3, which a venv of it shares) are reused.
            configure += ["-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-DHEED_BUILD_TESTS=OFF",
                          f"-DHEED_PYTHON={sys.executable}"]
            if shutil.which("ccache"):
                configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", build_dir, "--target", "_heed", "--parallel", str(os.cpu_count() or 1)],
                       check=True)
        built = os.path.join(build_dir, "python", "heed", os.path.basename(self.get_ext_filename(ext.name)))
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built, target)


setup(
    packages=["heed"],
    package_dir={"heed": "python/heed"},
    package_data={"heed": ["*.pyi", "py.typed"]},
    ext_modules=[Extension("heed._heed", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
