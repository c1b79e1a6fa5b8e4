"""Two training iterations of PP-LiteSeg with each of PaddleSeg's common losses, and with
the shipped recommended recipe (the plugin's losses, `weight: auto`, AdamW).

On Paddle 3.x most of PaddleSeg's losses fail in PaddleSeg 2.8.0 without `compat` (type
promotion, 0-D loss logging); the test runs on both Paddle lines.
"""
import os

import pytest

from paddleseg_imbalance.engine import train
from tests.helpers import REPO, tiny_config

LOSSES = {
    "ce": {"type": "CrossEntropyLoss"},
    "ce_weight": {"type": "CrossEntropyLoss", "weight": [1.0, 10.0]},
    "ohem": {"type": "OhemCrossEntropyLoss", "min_kept": 500},
    "dice": {"type": "DiceLoss"},
    "bce": {"type": "BCELoss"},
    "lovasz_softmax": {"type": "LovaszSoftmaxLoss"},
    "mixed": {"type": "MixedLoss", "losses": [{"type": "CrossEntropyLoss"},
                                              {"type": "DiceLoss"}],
              "coef": [1.0, 1.0]},
}


def train_two_iterations(config, save_dir):
    train.main(["--config", config, "--device", "cpu", "--save_dir", str(save_dir),
                "--log_iters", "1", "--save_interval", "2", "--seed", "0"])


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_two_iterations(demo_root, tmp_path, name):
    train_two_iterations(tiny_config(demo_root, tmp_path, loss=LOSSES[name]), tmp_path / "out")
    assert os.path.isfile(tmp_path / "out" / "iter_2" / "model.pdparams")


def test_recommended_recipe_trains(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path, base=os.path.join(
        REPO, "configs", "demo", "pp_liteseg_stdc1_demo_recommended.yml"))
    train_two_iterations(config, tmp_path / "out")
    assert os.path.isfile(tmp_path / "out" / "iter_2" / "model.pdparams")
