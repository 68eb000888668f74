"""The package's own rules about its modules: no module imports a private name of another module."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import numpy as np

import netevidence
from netevidence.values import na_to_none, plain_value

PACKAGE = Path(netevidence.__file__).parent


def _private_imports(path: Path) -> list[str]:
    """``from x import _name`` in ``path``, except a private submodule of the importing module's own package
    (``from . import _kernel``), which is that package's internal code."""
    out = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.module == "__future__":
            continue
        for alias in node.names:
            if not alias.name.startswith("_") or alias.name.startswith("__"):  # dunders are public
                continue
            own_submodule = node.level == 1 and node.module is None and (path.parent / f"{alias.name}.py").exists()
            if not own_submodule:
                out.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: from {'.' * node.level}{node.module or ''} "
                           f"import {alias.name}")
    return out


def test_no_private_names_imported_across_modules():
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _private_imports(path)]
    assert found == []


def test_the_scan_finds_a_private_import(tmp_path):
    """The scan above can fail: it reports a private function imported from a sibling module."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "_kernel.py").write_text("x = 1\n")
    (pkg / "a.py").write_text("from . import _kernel\nfrom .b import _helper, public\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path
    try:
        assert _private_imports(pkg / "a.py") == ["pkg/a.py:2: from .b import _helper"]
    finally:
        PACKAGE = saved


def test_missing_values_read_as_none():
    for missing in (None, pd.NA, float("nan"), np.float64("nan"), np.float32("nan")):
        assert na_to_none(missing) is None
        assert plain_value(missing) is None
    assert na_to_none(0.0) == 0.0 and na_to_none("") == ""
    assert type(plain_value(np.int64(3))) is int and type(plain_value(np.float32(0.5))) is float
    assert plain_value(np.bool_(True)) is True and plain_value("x") == "x"
