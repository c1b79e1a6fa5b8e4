"""PaddleX 3 semantic segmentation configs, read as the PaddleSeg datasets they describe.

A PaddleX 3 module config (`paddlex/configs/modules/semantic_segmentation/*.yaml`) has
`Global` (`model`, `mode`, `dataset_dir`, `device`, `output`), `CheckDataset`, `Train`
(`num_classes`, `epochs_iters`, `batch_size`, ...), `Evaluate`, `Export` and `Predict`.
Its dataset (PaddleX's SegDataset layout) is `images/`, `annotations/`, and the file lists
`train.txt` / `val.txt` in `dataset_dir`, each line 'images/x.jpg annotations/x.png'
relative to it: PaddleSeg's `Dataset` with `dataset_root: dataset_dir`. So `as_paddleseg`
turns such a config into `train_dataset` / `val_dataset` sections, and findings name the
PaddleX keys (`Train.num_classes`, `Global.dataset_dir`). The model, losses and transforms
are PaddleX's own and not in the config: only the num_classes rules and the data rules
(`--scan-data`, `stats`) apply.
"""
import dataclasses
import os

from paddleseg_imbalance.config.resolve import ResolvedConfig

# The rules' words for PaddleSeg keys -> the PaddleX keys and files they stand for.
_WORDING = (("in model, train_dataset and val_dataset", "in Train.num_classes"),
            ("`train_dataset`", "the train split (train.txt)"),
            ("`val_dataset`", "the val split (val.txt)"))
SPLITS = (("train_dataset", "train", "train_path", "train.txt"),
          ("val_dataset", "val", "val_path", "val.txt"))


def is_paddlex(data):
    """Whether a config dict is a PaddleX 3 config with a dataset: `Global.dataset_dir`."""
    return isinstance(data.get("Global"), dict) and "dataset_dir" in data["Global"]


def as_paddleseg(resolved):
    """The `ResolvedConfig` with PaddleSeg dataset sections for a PaddleX config (findings
    keyed by the PaddleX keys); any other config unchanged."""
    if not is_paddlex(resolved.data):
        return resolved
    root = resolved.data["Global"]["dataset_dir"]
    train = resolved.data.get("Train")
    num_classes = train.get("num_classes") if isinstance(train, dict) else None
    data, key_names = {}, {("model",): "Train.num_classes"}
    for section, mode, list_key, list_name in SPLITS:
        cfg = {"type": "Dataset", "dataset_root": root, "mode": mode,
               list_key: os.path.join(str(root), list_name)}
        if num_classes is not None:
            cfg["num_classes"] = num_classes
        data[section] = cfg
        key_names.update({(section,): f"Global.dataset_dir ({list_name})",
                          (section, "dataset_root"): "Global.dataset_dir",
                          (section, list_key): f"Global.dataset_dir ({list_name})",
                          (section, "num_classes"): "Train.num_classes"})
    origins = {path: resolved.path for path in key_names}
    return ResolvedConfig(resolved.path, data, origins, list(resolved.files), key_names,
                          paddlex=True)


def reworded(finding):
    """`finding` with the PaddleSeg keys in its message and fix named as PaddleX names them."""
    message, fix = finding.message, finding.fix
    for paddleseg, paddlex in _WORDING:
        message, fix = message.replace(paddleseg, paddlex), fix.replace(paddleseg, paddlex)
    return dataclasses.replace(finding, message=message, fix=fix)
