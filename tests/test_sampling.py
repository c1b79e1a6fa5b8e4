"""Rare-class cropping, copy-paste, the transpose and the resampling datasets, against hand
computations."""
import collections
import copy
import math
import pickle
import random

import numpy as np
import paddle
import pytest
import yaml
from paddleseg.cvlibs import Config, SegBuilder
from paddleseg.transforms import RandomHorizontalFlip, RandomVerticalFlip
from PIL import Image

import paddleseg_imbalance  # noqa: F401  (before paddle is used: zlib, registration)
from paddleseg_imbalance.datasets import (ClassBalancedDataset, HardExampleDataset,
                                          WrapperConfigError, unwrap_config, wrap_dataset)
from paddleseg_imbalance.transforms import (CopyPaste, RandomTranspose, RareClassCrop,
                                            random_transpose)
from tests.helpers import tiny_config

IGNORE = 255
PAD = -1.0  # image padding value in the tests: no real pixel has it


def crop_sample(height, width, label=None):
    """A training sample whose image encodes each pixel's (row, column)."""
    rows, columns = np.mgrid[:height, :width].astype(np.float32)
    image = np.stack([rows, columns, np.zeros_like(rows)], axis=-1)
    if label is None:
        label = ((rows * 7 + columns * 3) % 200).astype(np.uint8)
    return {"img": image, "label": label, "gt_fields": ["label"], "trans_info": []}


def crop(transform, sample):
    return transform(copy.deepcopy(sample))


# RareClassCrop ---------------------------------------------------------------------


def blob_label(height=64, width=64, rows=(40, 43), columns=(10, 13)):
    label = np.zeros((height, width), np.uint8)
    label[rows[0]:rows[1], columns[0]:columns[1]] = 1
    return label


def test_rare_crop_contains_the_rare_class_at_the_requested_rate():
    crop_h = crop_w = 16
    label = blob_label()
    # The share of plain random windows (top, left uniform in [0, 48]) that hold the blob.
    tops = np.arange(64 - crop_h + 1)
    holds_rows = (tops <= 42) & (tops + crop_h > 40)
    holds_columns = (tops <= 12) & (tops + crop_w > 10)
    baseline = holds_rows.mean() * holds_columns.mean()
    expected = 0.8 + 0.2 * baseline

    np.random.seed(0)
    transform = RareClassCrop(crop_size=(crop_w, crop_h), prob=0.8)
    sample = crop_sample(64, 64, label)
    trials = 1000
    hits = sum((crop(transform, sample)["label"] == 1).any() for _ in range(trials))
    tolerance = 4 * math.sqrt(expected * (1 - expected) / trials)
    assert abs(hits / trials - expected) < tolerance, (hits / trials, expected, baseline)


def test_guided_windows_always_contain_the_rare_class_and_auto_skips_the_most_frequent():
    np.random.seed(1)
    transform = RareClassCrop(crop_size=(8, 8), prob=1.0)
    label = blob_label()
    label[:, 60:] = 2  # class 2: 256 pixels, rarer than background, commoner than class 1
    sample = crop_sample(64, 64, label)
    for _ in range(200):
        window = crop(transform, sample)["label"]
        assert (window == 1).any() or (window == 2).any()
    explicit = RareClassCrop(crop_size=(8, 8), prob=1.0, classes=[1])
    assert all((crop(explicit, sample)["label"] == 1).any() for _ in range(100))


@pytest.mark.parametrize("size", [(64, 48), (20, 30), (10, 12)])
def test_rare_crop_keeps_image_and_label_aligned_and_pads_with_ignore(size):
    height, width = size
    transform = RareClassCrop(crop_size=(24, 16), prob=0.5, im_padding_value=PAD)
    label = ((np.mgrid[:height, :width][0] * 7 + np.mgrid[:height, :width][1] * 3) % 200)
    label = label.astype(np.uint8)
    label[height // 2, width // 3] = 201  # a rare class
    np.random.seed(2)
    for _ in range(50):
        out = crop(transform, crop_sample(height, width, label))
        image, cropped = out["img"], out["label"]
        assert image.shape == (16, 24, 3) and cropped.shape == (16, 24)
        padded = image[..., 0] == PAD
        assert (cropped[padded] == IGNORE).all()
        assert (image[padded] == PAD).all()
        rows, columns = image[~padded][:, 0].astype(int), image[~padded][:, 1].astype(int)
        np.testing.assert_array_equal(cropped[~padded], label[rows, columns])
        if height >= 16 and width >= 24:
            assert not padded.any()


def test_multilabel_crop_is_aligned():
    height, width = 40, 40
    rows, columns = np.mgrid[:height, :width]
    label = np.zeros((height, width, 3), np.uint8)
    label[..., 0] = 1                                # auxiliary background: everywhere
    label[..., 1] = (rows + 2 * columns) % 3 == 0    # a pattern that encodes position
    label[..., 2] = (2 * rows + columns) % 5 == 0
    label[0, 0, 1] = IGNORE
    transform = RareClassCrop(crop_size=(8, 8), prob=0.5, im_padding_value=PAD)
    np.random.seed(3)
    for _ in range(50):
        out = crop(transform, crop_sample(height, width, label))
        image, cropped = out["img"], out["label"]
        r, c = image[..., 0].astype(int), image[..., 1].astype(int)
        np.testing.assert_array_equal(cropped, label[r, c])


def test_multilabel_auto_skips_the_auxiliary_channel():
    label = np.zeros((40, 40, 3), np.uint8)
    label[..., 0] = 1             # auxiliary background: everywhere
    label[30:32, 5:7, 1] = 1      # two rare labels
    label[3:5, 33:35, 2] = 1
    sample = crop_sample(40, 40, label)

    def blob_rate(transform, trials=150):
        return np.mean([crop(transform, sample)["label"][..., 1:].any() for _ in range(trials)])

    np.random.seed(3)
    assert blob_rate(RareClassCrop(crop_size=(8, 8), prob=1.0)) == 1.0
    # Without skipping channel 0, a third of the windows target the background channel.
    assert blob_rate(RareClassCrop(crop_size=(8, 8), prob=1.0, skip_channels=[])) < 0.85


def test_cat_max_ratio_rejects_one_class_windows_and_keeps_the_best():
    label = blob_label(rows=(30, 36), columns=(30, 36))
    sample = crop_sample(64, 64, label)

    def two_class_rate(transform, trials=200):
        return np.mean([len(np.unique(crop(transform, sample)["label"])) > 1
                        for _ in range(trials)])

    np.random.seed(4)
    plain = two_class_rate(RareClassCrop(crop_size=(16, 16), prob=0.0))
    checked = two_class_rate(RareClassCrop(crop_size=(16, 16), prob=0.0, cat_max_ratio=0.95,
                                           max_tries=30))
    # No window can pass 0.01, so the best of the tries is kept: one that holds the blob.
    best_kept = two_class_rate(RareClassCrop(crop_size=(16, 16), prob=0.0, cat_max_ratio=0.01,
                                             max_tries=30))
    assert plain < 0.3 and checked > 0.9 and best_kept > 0.9
    with pytest.raises(ValueError, match="cat_max_ratio"):
        RareClassCrop(crop_size=(8, 8), cat_max_ratio=0.5)(
            crop_sample(16, 16, np.zeros((16, 16, 2), np.uint8)))


def test_rare_crop_rejects_bad_arguments_with_the_fix():
    with pytest.raises(ValueError, match=r"\[width, height\]"):
        RareClassCrop(crop_size=512)
    with pytest.raises(ValueError, match="'auto'"):
        RareClassCrop(classes="rare")


# ClassBalancedDataset --------------------------------------------------------------


class LabelFiles(paddle.io.Dataset):
    """A minimal PaddleSeg-like dataset over label files; items say which image they are."""

    def __init__(self, directory, labels, num_classes=2):
        self.file_list = []
        for index, label in enumerate(labels):
            path = directory / f"{index}.png"
            Image.fromarray(np.asarray(label, np.uint8)).save(path)
            self.file_list.append([f"image_{index}.png", str(path)])
        self.num_classes = num_classes
        self.ignore_index = IGNORE
        self.img_channels = 3

    def __len__(self):
        return len(self.file_list)

    def __getitem__(self, index):
        return {"img": np.full((1,), index), "label": np.zeros((1,), np.int64)}


def image_with(*values):
    return np.array([list(values) + [0] * (4 - len(values))])


@pytest.fixture
def one_rare_image(tmp_path):
    """Four images; class 1 in image 2 only (image 3 holds it only as ignore)."""
    labels = [image_with(0), image_with(0, IGNORE), image_with(0, 1), image_with(IGNORE)]
    return LabelFiles(tmp_path, labels)


def test_repeat_factors_match_the_lvis_formula_by_hand(one_rare_image):
    dataset = ClassBalancedDataset(one_rare_image, oversample_thr=0.5)
    # f_0 = 3/4 (image 3 is all ignore), f_1 = 1/4; r_1 = sqrt(0.5 / 0.25).
    np.testing.assert_allclose(dataset.class_repeat_factors, [1.0, math.sqrt(2)])
    np.testing.assert_allclose(dataset.repeat_factors, [1, 1, math.sqrt(2), 1])
    assert dataset.epoch_length == 5 and len(dataset) == 5
    assert (dataset.num_classes, dataset.ignore_index, dataset.file_list) == (
        2, IGNORE, one_rare_image.file_list)  # forwarded to the wrapped dataset


def test_stochastic_rounding_realises_the_repeat_factor_on_average(tmp_path):
    # Class 1 in 2 of 8 images: f_1 = 0.25, t = 0.5625 -> r = 1.5; R = 9 = epoch length.
    labels = [image_with(0, 1)] * 2 + [image_with(0)] * 6
    dataset = ClassBalancedDataset(LabelFiles(tmp_path, labels), oversample_thr=0.5625)
    np.testing.assert_allclose(dataset.repeat_factors, [1.5, 1.5] + [1] * 6)
    assert dataset.epoch_length == 9
    counts = np.array([np.bincount(dataset.epoch_indices(epoch), minlength=8)
                       for epoch in range(2000)])
    assert set(counts[:, 0]) == {1, 2} and set(counts[:, 2:].ravel()) == {1}  # floor or ceil
    # mmengine's ceil would give 2 copies every epoch.
    np.testing.assert_allclose(counts.mean(axis=0), [1.5, 1.5] + [1] * 6, atol=0.05)


def test_an_epoch_has_fixed_length_and_each_image_its_share(one_rare_image):
    dataset = ClassBalancedDataset(one_rare_image, oversample_thr=0.5)
    counts = np.array([np.bincount(dataset.epoch_indices(epoch), minlength=4)
                       for epoch in range(4000)])
    assert (counts.sum(axis=1) == 5).all() and counts.min() >= 1  # no image dropped
    share = counts.sum(axis=0) / counts.sum()
    r = dataset.repeat_factors
    np.testing.assert_allclose(share, r / r.sum(), atol=0.01)  # ceil would give 2/5 = 0.4


def test_sample_lists_depend_only_on_seed_and_epoch(one_rare_image):
    first = ClassBalancedDataset(one_rare_image, oversample_thr=0.5, seed=7, epochs=3)
    second = pickle.loads(pickle.dumps(first))  # as a worker process receives it
    samples = range(len(first))
    mapping = [first.source_index(k) for k in samples]
    assert len(first) == 15 and mapping == [second.source_index(k) for k in samples]
    assert [first[k]["img"][0] for k in samples] == mapping
    # Sample k of pass 0 is position k % 5 of epoch k // 5.
    assert mapping == [int(first.epoch_indices(k // 5)[k % 5]) for k in samples]
    other_seed = ClassBalancedDataset(one_rare_image, oversample_thr=0.5, seed=8, epochs=3)
    first.set_epoch(1)
    next_pass = [first.source_index(k) for k in samples]
    assert next_pass == [int(first.epoch_indices(3 + k // 5)[k % 5]) for k in samples]
    assert mapping != [other_seed.source_index(k) for k in samples] and mapping != next_pass


def test_multilabel_strips_count_each_label_and_wrappers_do_not_nest(tmp_path):
    road, building = np.array([[1, 0, 0, 0]]), np.array([[0, 0, 0, 0]])
    strips = [np.concatenate([road, building], axis=1)] + [np.zeros((1, 8))] * 3
    strips[1] = np.concatenate([road, road], axis=1)
    dataset = ClassBalancedDataset(LabelFiles(tmp_path, strips, num_classes=3),
                                   oversample_thr=0.5, num_labels=2)
    # road in 2 of 4 images (f = 0.5, r = 1), building in 1 (f = 0.25, r = sqrt(2)).
    np.testing.assert_allclose(dataset.class_repeat_factors, [1, math.sqrt(2)])
    np.testing.assert_allclose(dataset.repeat_factors, [1, math.sqrt(2), 1, 1])
    assert dataset.num_classes == 3  # still the wrapped dataset's
    with pytest.raises(ValueError, match="innermost"):
        ClassBalancedDataset(HardExampleDataset(dataset.dataset))


def test_two_ranks_share_one_realised_list(one_rare_image):
    dataset = ClassBalancedDataset(one_rare_image, oversample_thr=0.5, epochs=2)
    seen = []
    for rank in (0, 1):
        sampler = paddle.io.DistributedBatchSampler(
            dataset, batch_size=2, num_replicas=2, rank=rank, shuffle=True, drop_last=False)
        seen += [index for batch in sampler for index in batch]
    assert sorted(seen) == list(range(len(dataset)))  # 10 samples, no padding
    realised = np.concatenate([dataset.epoch_indices(0), dataset.epoch_indices(1)])
    assert collections.Counter(dataset.source_index(k) for k in seen) == \
        collections.Counter(realised.tolist())


def test_class_balanced_dataset_from_yaml_through_segbuilder(demo_root, tmp_path):
    path = tiny_config(demo_root, tmp_path)
    with open(path) as file:
        config = yaml.safe_load(file)
    inner = config["train_dataset"]
    config["train_dataset"] = {"type": "ClassBalancedDataset", "oversample_thr": 0.5,
                               "dataset": inner}
    with open(path, "w") as file:
        yaml.safe_dump(config, file)

    wrapped = SegBuilder(Config(path)).train_dataset
    assert isinstance(wrapped, ClassBalancedDataset)
    assert len(wrapped.repeat_factors) == len(wrapped.file_list) == 8
    assert wrapped[0]["img"].shape == (3, 64, 64)
    with pytest.raises(WrapperConfigError, match="unwrap_config"):
        SegBuilder(Config(path)).model  # PaddleSeg 2.8.0 reads NUM_CLASSES from the class

    loaded = Config(path)
    wrappers = unwrap_config(loaded)
    assert wrappers == {"train_dataset": [{"type": "ClassBalancedDataset",
                                           "oversample_thr": 0.5}]}
    assert loaded.dic["train_dataset"]["type"] == "Dataset"
    assert loaded.dic["model"]["num_classes"] == 2  # synced by PaddleSeg's checks again
    builder = SegBuilder(loaded)
    rebuilt = wrap_dataset(builder.train_dataset, wrappers["train_dataset"])
    np.testing.assert_array_equal(rebuilt.repeat_factors, wrapped.repeat_factors)
    assert builder.model is not None


def test_wrapper_over_a_base_dataset_needs_inherited_false(demo_root, tmp_path):
    base = tiny_config(demo_root, tmp_path)
    inner = yaml.safe_load(open(base))["train_dataset"]
    child = tmp_path / "child.yml"
    # The wrapper merges key by key with the base's plain train_dataset.
    child.write_text(yaml.safe_dump({"_base_": base, "train_dataset": {
        "type": "HardExampleDataset", "max_weight": 2.0, "dataset": inner}}))
    with pytest.raises(ValueError, match=r"dataset_root.*_inherited_: false"):
        unwrap_config(Config(str(child)))
    child.write_text(yaml.safe_dump({"_base_": base, "train_dataset": {
        "_inherited_": False, "type": "HardExampleDataset", "max_weight": 2.0,
        "dataset": inner}}))
    assert unwrap_config(Config(str(child))) == {
        "train_dataset": [{"type": "HardExampleDataset", "max_weight": 2.0}]}


# CopyPaste ---------------------------------------------------------------------------


def ring_sample(value=200.0, outside=999.0):
    """A source sample: a ring of class 1 (its box holds other pixels) next to ignore."""
    label = np.zeros((32, 32), np.uint8)
    label[8:16, 8:16] = 1
    label[10:14, 10:14] = 0
    label[8:16, 16:18] = IGNORE
    image = np.full((32, 32, 3), outside, np.float32)
    image[label == 1] = value
    return {"img": image, "label": label, "gt_fields": ["label"], "trans_info": []}


def target_sample(value=10.0):
    label = np.zeros((32, 32), np.uint8)
    label[:, :6] = IGNORE
    label[20:, 20:] = 2
    image = np.full((32, 32, 3), value, np.float32)
    return {"img": image, "label": label, "gt_fields": ["label"], "trans_info": []}


def test_copy_paste_changes_only_pasted_pixels_and_never_ignore():
    np.random.seed(5)
    pasted_any = False
    for _ in range(30):
        transform = CopyPaste(prob=1.0, classes=[1], max_pastes=3)
        transform(ring_sample())
        original = target_sample()
        out = transform(copy.deepcopy(original))
        image, label = out["img"], out["label"]
        changed_image = (image != original["img"]).any(axis=-1)
        changed_label = label != original["label"]
        was_ignored = original["label"] == IGNORE
        pasted_any |= changed_label.any()
        assert (label[changed_label] == 1).all()
        assert (changed_image <= (label == 1)).all()   # image changes only in the region
        assert (label[was_ignored] == IGNORE).all() and not changed_image[was_ignored].any()
        assert ((label == IGNORE) == was_ignored).all()  # no ignore value written
        # Only ring pixels (200) blend in: never the 999 of the box's other pixels.
        assert image.min() >= 10 and image.max() <= 200
    assert pasted_any


def test_copy_paste_bank_is_bounded_and_holds_copies():
    np.random.seed(6)
    transform = CopyPaste(prob=0.5, classes=[1], max_pastes=3, bank_size=5)
    for index in range(40):
        label = np.zeros((48, 48), np.uint8)
        label[index % 40:index % 40 + 3, ::6] = 1  # eight separate components
        sample = {"img": np.random.rand(48, 48, 3).astype(np.float32) * 255,
                  "label": label, "gt_fields": ["label"], "trans_info": []}
        transform(sample)
        assert len(transform.bank) <= 5
    assert all(region.image.base is None and region.mask.base is None
               for region in transform.bank)
    assert sum(region.image.nbytes for region in transform.bank) <= 5 * 3 * 3 * 3 * 4


def test_copy_paste_works_on_uint8_and_leaves_validation_samples_alone():
    np.random.seed(7)
    transform = CopyPaste(prob=1.0, classes=[1])
    source = ring_sample(value=200, outside=90)
    source["img"] = source["img"].astype(np.uint8)
    transform(source)
    target = target_sample()
    target["img"] = target["img"].astype(np.uint8)
    out = transform(target)
    assert out["img"].dtype == np.uint8 and out["img"].max() <= 200
    validation = target_sample()
    validation["gt_fields"] = []
    assert transform(copy.deepcopy(validation))["label"].tolist() == validation["label"].tolist()


def test_copy_paste_rejects_multilabel_labels():
    sample = crop_sample(8, 8, np.zeros((8, 8, 2), np.uint8))
    with pytest.raises(ValueError, match="single-label class maps"):
        CopyPaste()(sample)


# RandomTranspose ----------------------------------------------------------------------


def square_symmetries(array):
    """The 8 symmetries of a square array (first two axes), computed with np.rot90."""
    turns = [np.rot90(array, k, axes=(0, 1)) for k in range(4)]
    return turns + [np.flip(turn, axis=1) for turn in turns]


def test_transpose_with_both_flips_draws_the_8_symmetries_alike():
    random.seed(3)
    pipeline = [RandomHorizontalFlip(0.5), RandomVerticalFlip(0.5), RandomTranspose(0.5)]
    sample = crop_sample(5, 5)
    references = square_symmetries(sample["label"])
    assert len({reference.tobytes() for reference in references}) == 8
    counts = collections.Counter()
    draws = 8000
    for _ in range(draws):
        out = copy.deepcopy(sample)
        for transform in pipeline:
            out = transform(out)
        matches = [i for i, reference in enumerate(references)
                   if np.array_equal(out["label"], reference)]
        assert len(matches) == 1
        counts[matches[0]] += 1
    # Each symmetry has probability 1/8: 1000 expected, binomial sd about 30.
    assert len(counts) == 8 and all(abs(count - draws / 8) < 150 for count in counts.values())


@pytest.mark.parametrize("label_shape", [(6, 6), (6, 6, 3)])
def test_transpose_keeps_image_and_labels_aligned(label_shape):
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, label_shape).astype(np.uint8)
    sample = crop_sample(6, 6, label)
    sample["edge"] = (label.reshape(6, 6, -1)[..., 0] * 7).astype(np.uint8)
    sample["gt_fields"] = ["label", "edge"]
    out = RandomTranspose(prob=1.0)(copy.deepcopy(sample))
    # The image encodes (row, column): after the transpose, pixel (r, c) came from (c, r).
    rows, columns = np.mgrid[:6, :6]
    assert np.array_equal(out["img"][..., 0], columns) and np.array_equal(out["img"][..., 1], rows)
    assert np.array_equal(out["label"], np.swapaxes(label, 0, 1))
    assert np.array_equal(out["edge"], sample["edge"].T)
    assert all(out[key].flags["C_CONTIGUOUS"] for key in ("img", "label", "edge"))
    assert RandomTranspose(prob=0.0)(copy.deepcopy(sample))["label"].tobytes() == label.tobytes()


def test_transpose_leaves_non_square_samples_alone_and_warns_once(monkeypatch):
    warnings = []
    monkeypatch.setattr(random_transpose.warn_not_square, "given", False)
    monkeypatch.setattr("paddleseg_imbalance.transforms.warn_once.logger.warning",
                        warnings.append)
    sample = crop_sample(4, 6)
    for _ in range(3):
        out = RandomTranspose(prob=1.0)(copy.deepcopy(sample))
        assert out["img"].shape == (4, 6, 3) and np.array_equal(out["label"], sample["label"])
    assert len(warnings) == 1 and "after a square crop" in warnings[0]


@pytest.mark.parametrize("prob", [-0.1, 1.5, "half", True])
def test_transpose_rejects_a_bad_prob_with_the_fix(prob):
    with pytest.raises(ValueError, match=r"RandomTranspose: prob is .*set it in \[0, 1\]"):
        RandomTranspose(prob=prob)


# HardExampleDataset ------------------------------------------------------------------


class Items(paddle.io.Dataset):
    def __init__(self, size):
        self.size = size
        self.num_classes = 2

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        return {"img": np.full((1,), index)}


def test_hard_examples_are_sampled_more_within_bounds():
    dataset = HardExampleDataset(Items(10), max_weight=3.0, momentum=0.5)
    assert sorted(dataset.source_index(k) for k in range(10)) == list(range(10))
    scores = np.array([0.1] * 8 + [1.0, 100.0])
    dataset.record(np.arange(10), scores)
    dataset.next_epoch()
    mean = scores.mean()
    expected = np.clip(scores / mean, 1, 3)
    np.testing.assert_allclose(dataset.weights, expected)
    assert dataset.weights.max() / dataset.weights.min() <= 3.0  # no image dominates
    counts = np.bincount([dataset.source_index(k) for k in range(10)], minlength=10)
    assert counts.sum() == 10 and counts[9] >= counts[:8].max()
    item = dataset[0]
    assert item["sample_index"] == dataset.source_index(0) == item["img"][0]


def test_hardness_follows_the_momentum_rule_and_draws_are_deterministic():
    first, second = (HardExampleDataset(Items(4), momentum=0.25, seed=3) for _ in range(2))
    for dataset in (first, second):
        dataset.record([0, 1, 1], [1.0, 2.0, 4.0])  # image 1 seen twice: mean 3
        dataset.next_epoch()
        dataset.record([1], [1.0])
        dataset.next_epoch()
    np.testing.assert_allclose(first.hardness[:2], [1.0, 0.25 * 3 + 0.75 * 1])
    assert np.isnan(first.hardness[2:]).all()
    # h / mean(h) = 1 / 1.25 and 1.5 / 1.25, clipped below at 1; unscored images get 1.
    np.testing.assert_allclose(first.weights, [1, 1.2, 1, 1])
    lists = [[d.source_index(k) for k in range(4)] for d in (first, second)]
    assert lists[0] == lists[1] and first.epoch == 2


def test_record_rejects_bad_scores_with_the_fix():
    dataset = HardExampleDataset(Items(3))
    with pytest.raises(ValueError, match="finite and >= 0"):
        dataset.record([0], [-1.0])
    with pytest.raises(ValueError, match="sample_index"):
        dataset.record([3], [1.0])
