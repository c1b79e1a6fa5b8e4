"""HardExampleDataset fed from PaddleSeg's own training loop."""
import json
import os

import numpy as np
import paddle
import pytest
from paddleseg.datasets import Dataset
from paddleseg.models.losses import CrossEntropyLoss
from paddleseg.transforms import Normalize

import paddleseg_imbalance  # noqa: F401  (before paddle is used: zlib, registration)
from paddleseg_imbalance.datasets import HardExampleDataset
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.hard_example_feedback import (hard_example_feedback,
                                                              rare_class_loss_per_image)
from paddleseg_imbalance.engine.paddleseg_loop import paddleseg_train_module
from tests.helpers import run_tool, wrapped_train_config


def reference_scores(logits, labels, background=0, ignore=255):
    """The per-image score, pixel by pixel in numpy."""
    scores = []
    for z, y in zip(logits, labels):
        z = z - z.max(axis=0, keepdims=True)
        log_prob = z - np.log(np.exp(z).sum(axis=0, keepdims=True))
        predicted = z.argmax(axis=0)
        losses = []
        for row in range(y.shape[0]):
            for column in range(y.shape[1]):
                label = y[row, column]
                if label == ignore:
                    continue
                if label != background or predicted[row, column] != background:
                    losses.append(-log_prob[label, row, column])
        scores.append(np.mean(losses) if losses else 0.0)
    return np.array(scores)


def test_score_matches_numpy_and_skips_ignore_and_easy_background():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 3, 9, 7)).astype(np.float32)
    labels = rng.integers(0, 3, size=(4, 9, 7))
    labels[0, :3] = 255
    labels[3] = 0
    logits[3, 0] += 10.0  # all background, predicted as background: nothing to score
    got = rare_class_loss_per_image(paddle.to_tensor(logits), paddle.to_tensor(labels))
    expected = reference_scores(logits, labels)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got[3] == 0.0
    # (N, 1, H, W) labels and low-resolution logits are accepted.
    low = paddle.to_tensor(logits[:, :, ::3, ::3])
    assert rare_class_loss_per_image(low, paddle.to_tensor(labels[:, None])).shape == (4,)


class PixelModel(paddle.nn.Layer):
    """A per-pixel linear model: each image's logits depend on that image alone."""

    def __init__(self):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, 2, 1)

    def forward(self, images):
        return [self.conv(images)]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_paddleseg_loop_scores_every_image_with_its_own_index(demo_root, tmp_path,
                                                              num_workers):
    paddle.seed(0)
    binary = os.path.join(str(demo_root), "binary")
    dataset = Dataset(transforms=[Normalize()], dataset_root=binary,
                      train_path=os.path.join(binary, "train.txt"), num_classes=2,
                      mode="train")
    hard = HardExampleDataset(dataset, max_weight=4.0, momentum=0.5, seed=0)
    model = PixelModel()
    # Learning rate 0: the model does not change, so each image's score is a constant
    # that can be computed apart and compared, which fails if indices were mismatched.
    optimizer = paddle.optimizer.SGD(learning_rate=0.0, parameters=model.parameters())
    epochs, batch_size = 3, 2
    iters = epochs * len(dataset) // batch_size
    original_loader = paddle.io.DataLoader
    with hard_example_feedback(hard, model, str(tmp_path)):
        paddleseg_train_module.train(
            model, hard, optimizer=optimizer, save_dir=str(tmp_path), iters=iters,
            batch_size=batch_size, save_interval=iters, log_iters=iters,
            num_workers=num_workers, losses={"types": [CrossEntropyLoss()], "coef": [1]})
    assert paddle.io.DataLoader is original_loader
    assert paddleseg_train_module.loss_computation.__name__ == "loss_computation"

    expected = []
    for index in range(len(dataset)):
        item = dataset[index]
        logits = model(paddle.to_tensor(item["img"][None]))[0]
        label = paddle.to_tensor(item["label"][None].astype("int64"))
        expected.append(rare_class_loss_per_image(logits, label)[0])
    scored = ~np.isnan(hard.hardness)
    assert scored.sum() >= len(dataset) - 2  # weighted draws may skip an easy image
    np.testing.assert_allclose(hard.hardness[scored], np.array(expected)[scored], rtol=1e-4)
    assert hard.epoch == epochs  # two passes began with next_epoch, one at the end
    assert ((hard.weights >= 1) & (hard.weights <= 4)).all() and hard.weights.max() > 1

    report = json.loads((tmp_path / "hard_examples.json").read_text())
    hardness = [image["hardness"] for image in report["images"] if image["hardness"]]
    assert hardness == sorted(hardness, reverse=True)
    hardest = report["images"][0]
    assert hardest["image"] == dataset.file_list[hardest["index"]][0]


def test_feedback_refuses_what_it_cannot_score(demo_root):
    hard = HardExampleDataset(Dataset(
        transforms=[Normalize()], dataset_root=os.path.join(str(demo_root), "binary"),
        train_path=os.path.join(str(demo_root), "binary", "train.txt"), num_classes=2,
        mode="train"))
    with pytest.raises(ConfigError, match="multi-label"):
        with hard_example_feedback(hard, PixelModel(), "unused", multilabel=True):
            pass

    class OwnLoss(PixelModel):
        def loss_computation(self, logits_list, losses, data):
            raise AssertionError("not called")

    with pytest.raises(ConfigError, match="computes its own loss"):
        with hard_example_feedback(hard, OwnLoss(), "unused"):
            pass
    with hard_example_feedback(hard.dataset, PixelModel(), "unused") as found:
        assert found is None  # no HardExampleDataset: nothing patched


def test_train_tool_feeds_a_yaml_hard_example_dataset(demo_root, tmp_path):
    path = wrapped_train_config(demo_root, tmp_path,
                                {"type": "HardExampleDataset", "max_weight": 3.0},
                                iters=10, batch_size=2)
    result = run_tool("train", "--config", path, "--save_dir", tmp_path / "out",
                      "--device", "cpu", "--save_interval", 10)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "hard_examples.json").read_text())
    assert report["epochs"] == 3 and report["max_weight"] == 3.0  # 10 steps of 4 per pass
    assert all(image["hardness"] is not None for image in report["images"][:6])
    assert all(1 <= image["weight"] <= 3 for image in report["images"])
