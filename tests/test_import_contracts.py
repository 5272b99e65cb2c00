"""The import contracts of pyproject.toml ([tool.importlinter]) hold, and they catch violations.

`lint-imports` builds the import graph statically, imports inside functions
included, so a lazy import cannot hide a cycle or an upward dependency.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *extra],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_contracts_cover_layers_surfaces_and_cycles() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    kinds = {c["type"] for c in contracts}
    assert {"layers", "acyclic_siblings", "protected", "forbidden"} <= kinds
    layers = next(c for c in contracts if c["type"] == "layers")
    order = [layer.split(" ")[0] for layer in layers["layers"]]
    expected = [
        "cli", "commands", "serve", "llm", "hf", "probe", "eval", "train",
        "model", "tokenizer", "data", "tasks", "lang", "vm",
    ]  # fmt: skip
    assert [name for name in order if name in expected] == expected
    assert order[0] == "demo" and order[-1] == "errors"
    protected = {c["protected_modules"][0] for c in contracts if c["type"] == "protected"}
    assert protected == {f"cadmus.{p}.*" for p in expected[1:]}
    packages = {p.name for p in (ROOT / "src" / "cadmus").iterdir() if (p / "__init__.py").exists()}
    assert packages - {"examples"} <= set(expected)  # every package has its public surface guarded


def test_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_contracts_catch_bad_imports(tmp_path: Path) -> None:
    """A copy of the package with one violation of each kind: every one is reported."""
    shutil.copytree(
        ROOT / "src" / "cadmus", tmp_path / "src" / "cadmus", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    pkg = tmp_path / "src" / "cadmus"
    probes = {
        # an upward import: the VM may not know the language
        pkg / "vm" / "probe_up.py": "def f():\n    from cadmus.lang import parse\n    return parse\n",
        # reaching past a package's __init__
        pkg / "tasks" / "probe_inside.py": "from cadmus.lang.lexicon import KEYWORDS\n",
        # a module importing its own package's __init__ (which imports it back)
        pkg / "data" / "probe_own.py": "def f():\n    import cadmus.data\n    return cadmus.data\n",
        # a cycle between siblings, both imports inside functions
        pkg
        / "tokenizer"
        / "probe_a.py": "def f():\n    from cadmus.tokenizer import probe_b\n    return probe_b\n",
        pkg
        / "tokenizer"
        / "probe_b.py": "def g():\n    from cadmus.tokenizer import probe_a\n    return probe_a\n",
    }
    for path, text in probes.items():
        path.write_text(text)
    for contract, needle in [
        ("layers", "cadmus.vm.probe_up -> cadmus.lang"),
        ("public-lang", "cadmus.tasks.probe_inside -> cadmus.lang.lexicon"),
        ("own-init-data", "cadmus.data.probe_own -> cadmus.data"),
        ("acyclic", "No cycles are allowed in cadmus.tokenizer."),
    ]:
        result = lint_imports(tmp_path, "--contract", contract)
        assert result.returncode == 1, f"{contract}: {result.stdout}{result.stderr}"
        assert needle in result.stdout, f"{contract}: {result.stdout}"
