"""Builds the Cython fast path of the matching engine.

BUILD_EXTENSION=yes forces the build (a failure is an error), =no skips it; by default the
extension is optional and the pure-Python reference engine is used when it cannot be built.
"""

import os

from setuptools import Extension, setup

CYTHON_VERSION = "3.3.1"
mode = os.environ.get("BUILD_EXTENSION", "").lower()
ext_modules = []

if mode != "no" and os.path.exists("cython_ext/_core.pyx"):
    import Cython
    from Cython.Build import cythonize

    if Cython.__version__ != CYTHON_VERSION:
        raise RuntimeError(f"Cython=={CYTHON_VERSION} is required, found {Cython.__version__}")
    debug = os.environ.get("PROVENBOOK_DEBUG") == "1"
    ext_modules = cythonize(
        [
            Extension(
                "matching._core",
                ["cython_ext/_core.pyx"],
                optional=(mode != "yes"),
                extra_compile_args=["-O2"] if not debug else ["-O0", "-g"],
                define_macros=[("CYTHON_TRACE", "1")] if debug else [],
            )
        ],
        compiler_directives={
            "language_level": 3,
            "embedsignature": True,
            "linetrace": debug,
        },
        annotate=debug,
        quiet=True,
    )

setup(ext_modules=ext_modules)
