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


# Runs an entry in a fresh interpreter and prints the first module it imports that is not
# loaded yet, then stops (so paddle is never loaded). `cli` and `__main__` run on the bare
# package, as the launcher runs them, so that the package `__init__` does not import first.
_FIRST_IMPORT = """
import importlib, importlib.util, os, sys
entry = sys.argv[1]
if not entry.endswith(".py") and entry != "paddleseg_imbalance":
    sys.modules["paddleseg_imbalance"] = importlib.util.module_from_spec(
        importlib.util.find_spec("paddleseg_imbalance"))

class First:
    def find_spec(self, name, path=None, target=None):
        if name != entry:
            print(name, flush=True)
            os._exit(0)

sys.meta_path.insert(0, First())
if entry.endswith(".py"):
    spec = importlib.util.spec_from_file_location("entry_under_test", entry)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
else:
    importlib.import_module(entry)
"""


def test_every_entry_file_imports_zlib_first():
    import glob
    import os
    entries = glob.glob(os.path.join(REPO, "tools", "*.py")) + [
        "paddleseg_imbalance", "paddleseg_imbalance.cli", "paddleseg_imbalance.__main__",
        os.path.join(REPO, "paddleseg_imbalance_launcher.py")]
    for entry in entries:
        result = subprocess.run([sys.executable, "-c", _FIRST_IMPORT, entry], cwd=REPO,
                                capture_output=True, text=True, timeout=120)
        assert result.stdout.strip() == "zlib", (entry, result.stdout, result.stderr[-2000:])
