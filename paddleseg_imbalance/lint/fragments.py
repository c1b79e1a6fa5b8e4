"""Which configs are fragments: files meant to be included or completed, not trained on.

PaddleSeg's `configs/` tree holds `_base_` files (a dataset and its schedule, no model)
and partial configs (a base shared by siblings; an export or prediction config with a
model and `val_dataset` but nothing to train with). Such a file is linted for what it
holds; what it lacks (PSI007 missing sections, PSI002's "the model has no num_classes") is
not an error. A file is a fragment when, after its own `_base_` files are merged in:

1. it lies in a folder named `_base_`, or
2. it has no `model` (data, schedule or optimizer settings for others to include), or
3. it has no `train_dataset` (settings for export, evaluation or prediction only), or
4. another YAML linted in the same run names it as `_base_` (`lint DIR`) and it lacks a
   section PaddleSeg requires (a complete config that others extend stays a config), or
   `lint --fragment` says so.
"""
import os


def fragment_reason(resolved):
    """Why the resolved config is a fragment (rules 1-3), or None for a complete config."""
    if "_base_" in os.path.normpath(os.path.abspath(resolved.path)).split(os.sep)[:-1]:
        return "it is in a `_base_` folder"
    if "model" not in resolved.data:
        return "it has no `model`"
    if "train_dataset" not in resolved.data:
        return "it has no `train_dataset` (export, evaluation or prediction settings)"
    return None
