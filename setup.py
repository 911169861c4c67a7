"""Builds the Cython fast paths: the matching engine and Poseidon(2).

BUILD_EXTENSION=yes forces the build (a failure is an error), =no skips it; by default the
extensions are optional: the pure-Python reference engine is used when ``matching._core`` cannot
be built, and ``light_poseidon_python`` when ``proofs._poseidon`` cannot.
"""

import os
import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py


class BuildPyWithArtifacts(build_py):
    """Also ship the committed contract artifacts (``contracts/artifacts/*.json``) inside the
    ``oracle`` package as ``oracle/contracts/``: an installed wheel has no repository around
    it, and ``oracle.artifacts`` falls back to that copy (no Node is needed either way)."""

    def run(self) -> None:
        super().run()
        source = Path("contracts") / "artifacts"
        if not source.is_dir():
            return
        target = Path(self.build_lib) / "oracle" / "contracts"
        target.mkdir(parents=True, exist_ok=True)
        for artifact in sorted(source.glob("*.json")):
            shutil.copyfile(artifact, target / artifact.name)


CYTHON_VERSION = "3.3.1"
mode = os.environ.get("BUILD_EXTENSION", "").lower()
debug = os.environ.get("PROVENBOOK_DEBUG") == "1"
ext_modules = []
extensions = []

if mode != "no" and os.path.exists("cython_ext/_core.pyx"):
    extensions.append(
        Extension(
            "matching._core",
            ["cython_ext/_core.pyx"],
            depends=[
                "cython_ext/_core.pxd",
                "cython_ext/includes/pb_int128.h",
                "cython_ext/includes/pb_idmap.h",
                "cython_ext/includes/pb_fast.h",
                "cython_ext/includes/pb_fast.pxd",
                "cython_ext/includes/pb_idmap.pxd",
            ],
            optional=(mode != "yes"),
            extra_compile_args=["-O2"] if not debug else ["-O0", "-g"],
            define_macros=[("CYTHON_TRACE", "1")] if debug else [],
        )
    )

# Compiled Poseidon(2) over BN254: C field arithmetic in cython_ext/includes/bn254.h (needs gcc
# or clang on x86_64 for unsigned __int128 and _addcarry_u64); -O3 unrolls the limb loops.
if mode != "no" and os.path.exists("cython_ext/_poseidon.pyx"):
    extensions.append(
        Extension(
            "proofs._poseidon",
            ["cython_ext/_poseidon.pyx"],
            depends=[
                "cython_ext/includes/bn254.h",
                "cython_ext/includes/bn254_poseidon_constants.h",
                "cython_ext/includes/babyjub.h",
            ],
            optional=(mode != "yes"),
            extra_compile_args=["-O3"] if not debug else ["-O0", "-g"],
            define_macros=[("CYTHON_TRACE", "1")] if debug else [],
        )
    )

# BUILD_ONLY=proofs._poseidon builds just that extension (parallel work on another one).
only = os.environ.get("BUILD_ONLY")
if only:
    extensions = [e for e in extensions if e.name == only]

if extensions:
    import Cython
    from Cython.Build import cythonize

    if Cython.__version__ != CYTHON_VERSION:
        raise RuntimeError(f"Cython=={CYTHON_VERSION} is required, found {Cython.__version__}")
    ext_modules = cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "embedsignature": True,
            "linetrace": debug,
        },
        annotate=debug,
        quiet=True,
    )

setup(ext_modules=ext_modules, cmdclass={"build_py": BuildPyWithArtifacts})
