"""Build configuration beyond pyproject.toml: the compiled accelerators.

Three C extensions, each optional: where one cannot be built (no C compiler,
no Python headers) the install still succeeds and Cadmus takes the Python
path it accelerates, with the same results.

- `cadmus.vm._cvm` (src/cadmus/vm/_cvm.c): the VM's compiled execution path
  (`cadmus vm info` says which path is in use);
- `cadmus.lang._cdsl` (src/cadmus/lang/_cdsl.c): a front end for
  straight-line DSL text, used by the judges;
- `cadmus.data._ccanon` (src/cadmus/data/_ccanon.c): the canonical form of
  program trees, used by dataset builds for dedup and split regions.
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
        Extension(
            "cadmus.data._ccanon",
            sources=["src/cadmus/data/_ccanon.c"],
            optional=True,
        ),
    ]
)
