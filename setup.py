"""Build configuration beyond pyproject.toml: the VM's compiled execution path.

`cadmus.vm._cvm` is a C extension (src/cadmus/vm/_cvm.c). It is optional: where
it cannot be built (no C compiler, no Python headers) the install still
succeeds and Cadmus runs every program on the reference interpreter
(`cadmus vm info` says which path is in use).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "cadmus.vm._cvm",
            sources=["src/cadmus/vm/_cvm.c"],
            optional=True,
        ),
        Extension(
            "cadmus.lang._cdsl",
            sources=["src/cadmus/lang/_cdsl.c"],
            optional=True,
        ),
    ]
)
