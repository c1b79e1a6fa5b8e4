"""Shared fixtures: a tiny demo dataset."""
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)

import pytest

import paddleseg_imbalance  # noqa: F401  (repairs PaddleSeg and registers components)
from paddleseg_imbalance.demo_data import write_demo_dataset


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    """A small demo dataset (64 px, 8 train, 4 val images), binary and multi-label."""
    root = tmp_path_factory.mktemp("demo")
    write_demo_dataset(str(root), size=64, num_train=8, num_val=4, seed=0)
    return root
