"""The package's layers only import downwards (the contract in .importlinter).

A new import from a lower layer into a higher one (say `config` importing `lint`, or
`lint` importing `engine`) fails here, so CI refuses it.
"""
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO


def _lint_imports():
    """The lint-imports command beside this Python, else on PATH, else None."""
    beside = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    return beside if os.path.exists(beside) else shutil.which("lint-imports")


def test_layers_only_import_downwards():
    command = _lint_imports()
    if command is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]' installs it)")
    result = subprocess.run([command, "--config", os.path.join(REPO, ".importlinter")],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
