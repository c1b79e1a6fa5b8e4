"""Test helpers: a tiny PP-LiteSeg config on the demo data, running the tools, and numpy
references for the losses."""
import copy
import os
import subprocess
import sys

import numpy as np
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CONFIG = os.path.join(REPO, "configs", "demo", "pp_liteseg_stdc1_demo_ce.yml")


def tiny_config(demo_root, directory, loss=None, base=DEMO_CONFIG, **overrides):
    """Write a demo config pointed at `demo_root`, 2 iterations of batch 2.

    `base` is the shipped config to start from (default the plain-CE one), its `_base_`
    chain merged as PaddleSeg merges it; `loss` replaces each of PP-LiteSeg's three loss
    entries; `overrides` set top-level keys.
    """
    from paddleseg.cvlibs import Config

    config = Config(base).dic
    on_demo_data(config, os.path.join(str(demo_root), "binary"))
    config.update(batch_size=2, iters=2)
    if loss is not None:
        config["loss"] = {"types": [loss] * 3, "coef": [1, 1, 1]}
    config.update(overrides)
    path = os.path.join(str(directory), "config.yml")
    with open(path, "w") as file:
        yaml.safe_dump(config, file)
    return path


def wrapped_train_config(demo_root, directory, wrapper, **overrides):
    """`tiny_config` with its train_dataset wrapped in `wrapper` (a dict with a `type`)."""
    path = tiny_config(demo_root, directory, **overrides)
    with open(path) as file:
        config = yaml.safe_load(file)
    config["train_dataset"] = dict(wrapper, dataset=config["train_dataset"])
    with open(path, "w") as file:
        yaml.safe_dump(config, file)
    return path


def run_tool(tool, *args, cwd=REPO, timeout=600):
    """Run `tools/<tool>.py` in a fresh interpreter; returns the CompletedProcess."""
    command = [sys.executable, os.path.join(REPO, "tools", f"{tool}.py"), *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def base_config(root="data/demo/binary"):
    """A clean PP-LiteSeg config on a binary `Dataset` (3 outputs, 3 losses)."""
    transforms = [{"type": "RandomHorizontalFlip"}, {"type": "Normalize"}]
    return {
        "batch_size": 2, "iters": 10,
        "train_dataset": {"type": "Dataset", "dataset_root": root,
                          "train_path": f"{root}/train.txt", "num_classes": 2, "mode": "train",
                          "transforms": copy.deepcopy(transforms)},
        "val_dataset": {"type": "Dataset", "dataset_root": root, "val_path": f"{root}/val.txt",
                        "num_classes": 2, "mode": "val", "transforms": [{"type": "Normalize"}]},
        "optimizer": {"type": "SGD", "momentum": 0.9},
        "lr_scheduler": {"type": "PolynomialDecay", "learning_rate": 0.01},
        "loss": {"types": [{"type": "CrossEntropyLoss"}] * 3, "coef": [1, 1, 1]},
        "model": {"type": "PPLiteSeg", "num_classes": 2, "backbone": {"type": "STDC1"}},
    }


def write(directory, config, name="config.yml"):
    """Write `config` (a dict) as YAML into `directory`; returns the path."""
    path = os.path.join(str(directory), name)
    with open(path, "w") as file:
        yaml.safe_dump(config, file)
    return path


def np_softmax(logits):
    """Softmax over the class axis (1) of a numpy array."""
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def tensors(logits, labels):
    """(logits, labels) numpy arrays as paddle tensors, labels int64 as the losses take them."""
    import paddle

    return paddle.to_tensor(logits), paddle.to_tensor(labels.astype("int64"))


def train_with_eval(config, save_dir, *flags, timeout=600):
    """tools/train.py on `config` on the CPU, evaluating and saving at iteration 2 and logging
    every iteration; fails the test unless it exits 0. Returns its stdout and stderr."""
    result = run_tool("train", "--config", config, "--device", "cpu", "--do_eval",
                      "--save_interval", "2", "--log_iters", "1", "--save_dir", save_dir,
                      *flags, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def on_demo_data(config, data):
    """Point the train and val datasets of `config` (a dict) at the demo folder `data`
    (`demo_root / "binary"` or `demo_root / "multilabel"`) and its train.txt / val.txt."""
    for section, list_key, list_name in (("train_dataset", "train_path", "train.txt"),
                                         ("val_dataset", "val_path", "val.txt")):
        config[section].update(dataset_root=str(data),
                               **{list_key: os.path.join(str(data), list_name)})
