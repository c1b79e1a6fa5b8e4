"""Importing the plugin: registration, the EVALUATORS manager, zlib order, re-import."""
import importlib
import subprocess
import sys
import warnings

import pytest
from paddleseg.cvlibs import manager

import paddleseg_imbalance
from paddleseg_imbalance.registry import register
from tests.helpers import REPO


def test_evaluators_is_a_component_manager():
    assert isinstance(paddleseg_imbalance.EVALUATORS, manager.ComponentManager)
    assert paddleseg_imbalance.EVALUATORS.name == "evaluators"


def test_import_twice_keeps_the_same_manager_without_warnings():
    before = paddleseg_imbalance.EVALUATORS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(importlib.import_module("paddleseg_imbalance.evaluation.manager"))
        importlib.reload(paddleseg_imbalance)
    assert paddleseg_imbalance.EVALUATORS is before


def test_register_replaces_a_same_named_component_quietly():
    name = "AddMultiLabelAuxiliaryCategory"
    before = manager.TRANSFORMS.components_dict.get(name)

    class AddMultiLabelAuxiliaryCategory:  # what a PaddleSeg develop checkout registers
        pass

    try:
        manager.TRANSFORMS.components_dict[name] = AddMultiLabelAuxiliaryCategory
        replacement = type(name, (), {})
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            register(manager.TRANSFORMS)(replacement)
            register(manager.TRANSFORMS)(replacement)
        assert manager.TRANSFORMS[name] is replacement
    finally:
        if before is None:
            del manager.TRANSFORMS.components_dict[name]
        else:
            manager.TRANSFORMS.components_dict[name] = before


@pytest.mark.parametrize("entry", ["paddleseg_imbalance", "paddleseg_imbalance.cli"])
def test_zlib_works_after_importing_an_entry_point(entry):
    # paddlepaddle 2.6.2 breaks a zlib loaded after it; every entry point loads zlib first.
    code = (f"import {entry}, paddle, zlib; data = b'segmentation' * 1000; "
            "assert zlib.decompress(zlib.compress(data)) == data; "
            "d = zlib.decompressobj(); assert d.decompress(zlib.compress(data)) == data")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_every_entry_file_imports_zlib_first():
    import ast
    import glob
    import os
    entries = glob.glob(os.path.join(REPO, "tools", "*.py")) + [
        os.path.join(REPO, "paddleseg_imbalance", name)
        for name in ("__init__.py", "cli.py", "__main__.py")] + [
        os.path.join(REPO, "paddleseg_imbalance_launcher.py")]
    for path in entries:
        tree = ast.parse(open(path).read())
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        first = imports[0]
        assert isinstance(first, ast.Import) and first.names[0].name == "zlib", path
