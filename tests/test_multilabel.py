"""Multi-label segmentation: the labels + 1 rule, label layouts, MultiLabelDataset, and the
tools (train, val, predict, export, ONNX) on the demo multi-label data."""
import os

import cv2
import numpy as np
import paddle
import paddleseg.transforms as T
import pytest
import yaml
from paddleseg.cvlibs import Config
from paddleseg.cvlibs import SegBuilder as PaddleSegBuilder
from paddleseg.utils import load_entire_model
from PIL import Image

from paddleseg_imbalance.datasets import MultiLabelDataset
from paddleseg_imbalance.datasets.multilabel import MultiLabelConfigError
from paddleseg_imbalance.engine import export, predict, train, val
from paddleseg_imbalance.engine.args import train_parser
from paddleseg_imbalance.engine.builder import SegBuilder
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.inference import create_predictor, run_predictor
from paddleseg_imbalance.engine.session import Session
from paddleseg_imbalance.transforms import AddMultiLabelAuxiliaryCategory
from paddleseg_imbalance.transforms.multilabel_aux import warn_0_255_masks
from tests.helpers import REPO, run_tool

CONFIG = os.path.join(REPO, "configs", "multilabel", "pp_liteseg_stdc1_demo_multilabel.yml")
IGNORE = 255


def strips(labels, axis=1):
    """(H, W, C) labels as PaddleSeg's (H, C*W) strip (axis 1) or (C*H, W) strip (axis 0)."""
    return np.concatenate([labels[..., c] for c in range(labels.shape[2])], axis=axis)


def sample(label, height=6, width=8, train=True):
    """A transform input dict with a float image of (height, width) and `label`."""
    return {"img": np.zeros((height, width, 3), np.float32), "label": label,
            "trans_info": [], "gt_fields": ["label"] if train else []}


def random_labels(rng, num_labels, height=6, width=8):
    return rng.integers(0, 2, (height, width, num_labels)).astype(np.uint8)


def expected_with_background(labels):
    """Reference: channel 0 = 1 where no label is set (no ignored pixels in `labels`)."""
    background = (labels.max(axis=-1) == 0).astype(np.uint8)
    return np.concatenate([background[..., None], labels], axis=-1)


def write_config(demo_root, directory, num_classes=3, **sections):
    """The shipped multi-label config on `demo_root`, 2 iterations of batch 2; `num_classes`
    replaces it everywhere; `sections` update train_dataset / val_dataset keys."""
    with open(CONFIG) as file:
        config = yaml.safe_load(file)
    data = os.path.join(str(demo_root), "multilabel")
    for section, list_key, list_name in (("train_dataset", "train_path", "train.txt"),
                                         ("val_dataset", "val_path", "val.txt")):
        config[section].update(dataset_root=data, num_classes=num_classes,
                               **{list_key: os.path.join(data, list_name)})
        config[section].update(sections.get(section, {}))
    config["model"]["num_classes"] = num_classes
    config.update(batch_size=2, iters=2)
    path = os.path.join(str(directory), "multilabel.yml")
    with open(path, "w") as file:
        yaml.safe_dump(config, file)
    return path


# ------------------------------------------------------------------ the transform


@pytest.mark.parametrize("num_labels", [1, 2, 5])
def test_background_channel_is_added_and_num_classes_is_labels_plus_one(num_labels):
    labels = random_labels(np.random.default_rng(num_labels), num_labels)
    transform = AddMultiLabelAuxiliaryCategory(num_classes=num_labels + 1)
    out = transform(sample(strips(labels)))["label"]
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected_with_background(labels))
    if num_labels > 1:
        with pytest.raises(ValueError, match=f"set num_classes: {num_labels + 1} for "
                                             f"{num_labels} labels plus the background"):
            AddMultiLabelAuxiliaryCategory(num_classes=num_labels)(sample(strips(labels)))


def test_both_strip_layouts_and_hwc_arrays_read_the_same():
    labels = random_labels(np.random.default_rng(0), 2, height=6, width=8)
    transform = AddMultiLabelAuxiliaryCategory(num_classes=3)
    expected = expected_with_background(labels)
    for label in (strips(labels, axis=1), strips(labels, axis=0), labels):
        np.testing.assert_array_equal(transform(sample(label))["label"], expected)


def test_0_255_masks_are_binary_with_one_warning(capsys, monkeypatch):
    monkeypatch.setattr(warn_0_255_masks, "given", False)
    transform = AddMultiLabelAuxiliaryCategory(num_classes=3)
    rng = np.random.default_rng(1)
    for _ in range(3):
        labels = random_labels(rng, 2)
        out = transform(sample(strips(labels) * 255))["label"]
        np.testing.assert_array_equal(out, expected_with_background(labels))
    assert capsys.readouterr().out.count("values 0/255 are read as binary masks") == 1


def test_ignored_pixels_make_the_background_ignored_where_no_label_is_set():
    labels = np.zeros((6, 8, 2), np.uint8)
    labels[0, 0] = [IGNORE, 0]  # no label set, one ignored: background unknown
    labels[0, 1] = [IGNORE, 1]  # a label set: background 0 whatever the other holds
    labels[0, 2] = [1, 1]
    out = AddMultiLabelAuxiliaryCategory(num_classes=3)(sample(strips(labels)))["label"]
    assert out[0, 0].tolist() == [IGNORE, IGNORE, 0]
    assert out[0, 1].tolist() == [0, IGNORE, 1]
    assert out[0, 2].tolist() == [0, 1, 1]
    assert out[0, 3].tolist() == [1, 0, 0]


def test_strip_width_not_a_multiple_of_the_image_width():
    with pytest.raises(ValueError, match="strip width 20 is not a multiple of the image "
                                         "width 8"):
        AddMultiLabelAuxiliaryCategory(num_classes=3)(sample(np.zeros((6, 20), np.uint8)))


def test_label_of_another_size_than_its_image():
    with pytest.raises(ValueError, match="image and label sizes do not agree"):
        AddMultiLabelAuxiliaryCategory()(sample(np.zeros((7, 8, 2), np.uint8)))


def test_single_channel_class_map_is_not_multilabel_data():
    class_map = np.random.default_rng(2).integers(0, 3, (6, 8)).astype(np.uint8)
    with pytest.raises(ValueError, match="single-channel 6x8 mask.*not multi-label data"):
        AddMultiLabelAuxiliaryCategory(num_classes=3)(sample(class_map))
    # Without num_classes its values give it away.
    with pytest.raises(ValueError, match="values 2, which.*not multi-label"):
        AddMultiLabelAuxiliaryCategory()(sample(class_map))


def test_val_label_is_checked_against_the_image_as_read():
    """In val mode PaddleSeg leaves the label at the original size while the image is
    resized: the size check uses the size `trans_info` recorded."""
    labels = random_labels(np.random.default_rng(3), 2)
    data = sample(strips(labels), train=False)
    data = T.Resize((16, 12))(data)
    out = AddMultiLabelAuxiliaryCategory(num_classes=3)(data)["label"]
    np.testing.assert_array_equal(out, expected_with_background(labels))


def test_prediction_input_without_label_passes():
    data = {"img": np.zeros((6, 8, 3), np.float32), "trans_info": []}
    assert AddMultiLabelAuxiliaryCategory(num_classes=3)(dict(data)).keys() == data.keys()


# ---------------------------------------------------------------- MultiLabelDataset


@pytest.fixture(scope="module")
def npy_dataset(tmp_path_factory):
    """4 RGB images 24x32 with 5-label (H, W, 5) .npy labels, some pixels ignored."""
    root = tmp_path_factory.mktemp("npy")
    rng = np.random.default_rng(4)
    lines = []
    for index in range(4):
        cv2.imwrite(str(root / f"{index}.png"), rng.integers(0, 256, (24, 32, 3), np.uint8))
        labels = random_labels(rng, 5, height=24, width=32)
        labels[rng.random((24, 32)) < 0.05, 2] = IGNORE
        np.save(root / f"{index}.npy", labels)
        lines.append(f"{index}.png {index}.npy\n")
    (root / "list.txt").write_text("".join(lines))
    return root


def npy_multilabel_dataset(root, mode, transforms):
    return MultiLabelDataset(mode, str(root), transforms, num_classes=6,
                             train_path=str(root / "list.txt"), val_path=str(root / "list.txt"),
                             label_names=["a", "b", "c", "d", "e"])


def test_npy_labels_are_returned_as_channels_first_int64(npy_dataset):
    for mode in ("train", "val"):
        dataset = npy_multilabel_dataset(npy_dataset, mode,
                                         [AddMultiLabelAuxiliaryCategory(), T.Normalize()])
        label = dataset[1]["label"]
        labels = np.load(npy_dataset / "1.npy")
        assert label.dtype == np.int64 and label.shape == (6, 24, 32)
        np.testing.assert_array_equal(label[1:], labels.transpose(2, 0, 1))
        assert dataset.class_names == ["background", "a", "b", "c", "d", "e"]


def test_opencv_pads_only_channel_0_of_a_multichannel_label():
    """Why MultiLabelDataset runs PaddleSeg's transforms per channel: on the (H, W, 6)
    label of 5 labels, PaddleSeg's own RandomPaddingCrop fails in OpenCV."""
    data = sample(np.zeros((6, 8, 6), np.uint8))
    with pytest.raises(cv2.error):
        T.RandomPaddingCrop(crop_size=(16, 16))(data)


def test_geometric_transforms_keep_labels_binary(npy_dataset):
    transforms = [AddMultiLabelAuxiliaryCategory(), T.ResizeStepScaling(0.8, 1.3, 0.1),
                  T.RandomHorizontalFlip(), T.RandomVerticalFlip(prob=0.5),
                  T.RandomRotation(max_rotation=30), T.RandomScaleAspect(0.8, 0.5),
                  T.RandomPaddingCrop(crop_size=(48, 40)), T.Normalize()]
    dataset = npy_multilabel_dataset(npy_dataset, "train", transforms)
    np.random.seed(0)
    for index in range(len(dataset)):
        label = dataset[index]["label"]
        assert label.shape == (6, 40, 48)
        assert set(np.unique(label)) <= {0, 1, IGNORE}
        background, labels = label[0], label[1:]
        assert (background[(labels == 1).any(axis=0)] == 0).all()
        assert (labels[:, background == 1] == 0).all()
        # Padding and rotation borders are ignored in every channel, not in channel 0
        # only: an ignored background always comes with an ignored label.
        assert (labels[:, background == IGNORE] == IGNORE).any(axis=0).all()


def test_padding_ignores_every_channel(npy_dataset):
    transforms = [AddMultiLabelAuxiliaryCategory(), T.Resize((32, 24)),
                  T.RandomPaddingCrop(crop_size=(48, 40))]
    label = npy_multilabel_dataset(npy_dataset, "train", transforms)[0]["label"]
    assert (label[:, 24:, :] == IGNORE).all() and (label[:, :, 32:] == IGNORE).all()
    assert set(np.unique(label[:, :24, :32])) == {0, 1, IGNORE}


def test_dataset_rejects_a_transform_with_another_num_classes(npy_dataset):
    with pytest.raises(ValueError, match="AddMultiLabelAuxiliaryCategory has num_classes 4 "
                                         "but the dataset 6"):
        npy_multilabel_dataset(npy_dataset, "val", [AddMultiLabelAuxiliaryCategory(4)])


# ----------------------------------------------------------------- config and builder


def session_for(config):
    return Session(train_parser().parse_args(["--config", config, "--device", "cpu"]))


def test_transforms_get_num_classes_from_the_dataset(demo_root, tmp_path):
    session = session_for(write_config(demo_root, tmp_path))
    entry = session.config.dic["train_dataset"]["transforms"][0]
    assert entry == {"type": "AddMultiLabelAuxiliaryCategory", "num_classes": 3,
                     "ignore_index": 255}
    assert session.builder.train_dataset.transforms.transforms[1].num_classes == 3


def test_num_classes_that_differ_are_a_config_error(demo_root, tmp_path):
    transforms = [{"type": "AddMultiLabelAuxiliaryCategory", "num_classes": 4}]
    config = write_config(demo_root, tmp_path, val_dataset={"transforms": transforms})
    with pytest.raises(ConfigError, match=r"val_dataset.transforms\[0\].num_classes 4"):
        session_for(config)


def test_background_channel_in_train_but_not_in_val_is_a_config_error(demo_root, tmp_path):
    config = write_config(demo_root, tmp_path,
                          val_dataset={"transforms": [{"type": "Normalize"}]})
    with pytest.raises(ConfigError, match="not of `val_dataset`"):
        session_for(config)


def test_num_classes_must_fit_the_label_names(demo_root, tmp_path):
    with pytest.raises(ConfigError, match="`train_dataset.label_names` names 2 labels; "
                                          ".*set num_classes: 3 for 2 labels plus the "
                                          "background channel"):
        session_for(write_config(demo_root, tmp_path, num_classes=2))


def test_a_dataset_with_the_auxiliary_transform_is_sent_to_multilabel_dataset(demo_root,
                                                                             tmp_path):
    config = write_config(demo_root, tmp_path, train_dataset={"type": "Dataset"},
                          val_dataset={"type": "Dataset"})
    with pytest.raises(ConfigError, match="Set `train_dataset.type: MultiLabelDataset`"):
        session_for(config)


def test_segbuilder_reads_num_classes_from_the_config(demo_root, tmp_path):
    """PaddleSeg 2.8.0's SegBuilder asserts NUM_CLASSES on non-`Dataset` classes; the
    plugin's SegBuilder takes it from the config, PaddleSeg's gets an explanation."""
    config = write_config(demo_root, tmp_path)
    loaded = Config(config)
    del loaded.dic["model"]["num_classes"]  # filled in from train_dataset, as for Dataset
    model = SegBuilder(loaded).model
    model.eval()
    assert model(paddle.zeros([1, 3, 64, 64]))[0].shape[1] == 3
    with pytest.raises(MultiLabelConfigError, match="engine.builder.SegBuilder"):
        PaddleSegBuilder(Config(config)).model


# ------------------------------------------------------------------------- the tools


@pytest.fixture(scope="module")
def trained(demo_root, tmp_path_factory):
    """The shipped config trained 2 iterations in-process, with evaluation."""
    directory = tmp_path_factory.mktemp("multilabel")
    config = write_config(demo_root, directory)
    save_dir = directory / "out"
    train.main(["--config", config, "--device", "cpu", "--do_eval", "--save_interval", "2",
                "--log_iters", "1", "--save_dir", str(save_dir)])
    return config, save_dir


def test_two_labels_with_num_classes_2_stop_before_training(demo_root, tmp_path):
    """The reported crash: 2 labels, num_classes 2 -> a device-side scatter assertion in
    loss.backward(). Here: exit 2 and the value to set, before any iteration. (The config
    lint reports it too, from `label_names`; this checks the data, lint or no lint.)"""
    unnamed = {"label_names": None}  # as in PaddleSeg's configs: only the data tells
    config = write_config(demo_root, tmp_path, num_classes=2, train_dataset=unnamed,
                          val_dataset=unnamed)
    result = run_tool("train", "--config", config, "--device", "cpu",
                      "--save_dir", tmp_path / "out", "--no_lint", timeout=300)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "set num_classes: 3 for 2 labels plus the background channel" in result.stderr
    assert "[TRAIN]" not in result.stdout
    assert not (tmp_path / "out" / "iter_2").exists()


def test_training_evaluates_per_label_without_the_background(trained):
    _, save_dir = trained
    evaluation = yaml.safe_load(open(save_dir / "eval" / "iter_2.json"))
    assert evaluation["kind"] == "multilabel"
    assert [row["name"] for row in evaluation["labels"]] == ["road", "built_up"]
    assert [row["name"] for row in evaluation["auxiliary"]] == ["background"]
    assert (save_dir / "best_model" / "model.pdparams").is_file()


def test_val_evaluates_per_label(trained, tmp_path):
    config, save_dir = trained
    result = val.main(["--config", config, "--device", "cpu", "--save_dir", str(tmp_path),
                       "--model_path", str(save_dir / "best_model" / "model.pdparams")])
    assert result.metrics.kind == "multilabel"
    assert list(result.metrics.names) == ["road", "built_up"]
    assert result.num_images == 4


def test_predict_writes_one_mask_per_label(trained, demo_root, tmp_path):
    config, save_dir = trained
    images = demo_root / "multilabel" / "images"
    predict.main(["--config", config, "--device", "cpu", "--image_path", str(images),
                  "--model_path", str(save_dir / "best_model" / "model.pdparams"),
                  "--save_dir", str(tmp_path)])
    names = sorted(os.listdir(images))
    assert sorted(os.listdir(tmp_path / "masks")) == ["built_up", "road"]
    for label in ("road", "built_up"):
        assert sorted(os.listdir(tmp_path / "masks" / label)) == names
        mask = np.asarray(Image.open(tmp_path / "masks" / label / names[0]))
        assert mask.shape == (64, 64) and set(np.unique(mask)) <= {0, 255}
    assert sorted(os.listdir(tmp_path / "added_prediction")) == names


def val_images(demo_root, size=64):
    """The first 2 demo val images at `size` px, normalised as the config's Normalize does."""
    paths = sorted((demo_root / "multilabel" / "images").glob("val_*.png"))[:2]
    images = [cv2.resize(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), (size, size))
              for p in paths]
    return ((np.stack(images).astype(np.float32) / 255 - 0.5) / 0.5).transpose(0, 3, 1, 2)


def dynamic_probabilities(config, weights, images):
    """sigmoid of the dynamic model's label channels (background left out)."""
    model = SegBuilder(Config(config)).model
    load_entire_model(model, str(weights))
    model.eval()
    with paddle.no_grad():
        return paddle.nn.functional.sigmoid(model(paddle.to_tensor(images))[0][:, 1:]).numpy()


def assert_masks_match(exported, probabilities, threshold=0.5, margin=1e-3):
    """Exported 0/1 masks equal `probabilities > threshold` away from the threshold.

    Pixels within `margin` of the threshold are left out: the exported graph may fuse or
    reorder float operations (ONNX Runtime does), which moves a probability by ~1e-4 at
    most. Nearly every pixel must still be compared, so the check cannot pass vacuously.
    """
    assert exported.shape == probabilities.shape
    clear = np.abs(probabilities - threshold) > margin
    assert clear.mean() > 0.98, f"only {clear.mean():.1%} of pixels are clear of the threshold"
    np.testing.assert_array_equal(exported[clear], (probabilities > threshold)[clear])


def export_model(trained, save_dir, *flags):
    config, train_dir = trained
    weights = train_dir / "best_model" / "model.pdparams"
    export.main(["--config", config, "--model_path", str(weights), "--save_dir",
                 str(save_dir), *flags])
    return config, weights


def test_export_thresholds_the_labels_inside_the_graph(trained, demo_root, tmp_path):
    config, weights = export_model(trained, tmp_path)
    deploy = yaml.safe_load(open(tmp_path / "deploy.yaml"))["Deploy"]
    assert deploy["output_op"] == "threshold" and deploy["output_dtype"] == "int32"
    assert deploy["labels"] == ["road", "built_up"] and deploy["threshold"] == 0.5
    assert [t["type"] for t in deploy["transforms"]] == ["Normalize"]
    images = val_images(demo_root)
    exported = run_predictor(create_predictor(str(tmp_path)), images)
    assert exported.dtype == np.int32
    assert_masks_match(exported, dynamic_probabilities(config, weights, images))


def test_export_sigmoid_gives_label_probabilities(trained, demo_root, tmp_path):
    config, weights = export_model(trained, tmp_path, "--output_op", "sigmoid")
    images = val_images(demo_root)
    exported = run_predictor(create_predictor(str(tmp_path)), images)
    np.testing.assert_allclose(exported, dynamic_probabilities(config, weights, images),
                               atol=1e-5)


def test_export_onnx_matches_the_dynamic_model(trained, demo_root, tmp_path):
    pytest.importorskip("onnxruntime", reason='install "paddleseg-imbalance[onnx]"')
    try:
        import paddle2onnx  # noqa: F401
    except ImportError:
        pytest.skip('paddle2onnx is not installed: pip install "paddleseg-imbalance[onnx]"')
    except ValueError as error:  # paddle2onnx 2.x on Paddle 2.x
        pytest.skip(f"this paddle2onnx does not run on Paddle {paddle.__version__} ({error}); "
                    'with Paddle 2.6 install "paddle2onnx<2"')
    import onnxruntime

    with pytest.raises(ConfigError, match="--format onnx needs a fixed height and width"):
        export_model(trained, tmp_path, "--format", "onnx")
    # 128 px: PP-LiteSeg pools its stride-32 features into 4 x 4 bins, which ONNX's
    # AveragePool cannot do on the 2 x 2 features of a 64 px image.
    config, weights = export_model(trained, tmp_path, "--format", "onnx",
                                   "--input_shape", "-1", "3", "128", "128")
    assert yaml.safe_load(open(tmp_path / "deploy.yaml"))["Deploy"]["onnx_model"] == "model.onnx"
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    images = val_images(demo_root, size=128)
    exported = session.run(None, {session.get_inputs()[0].name: images})[0]
    assert exported.shape == (2, 2, 128, 128)
    assert_masks_match(exported, dynamic_probabilities(config, weights, images))


def test_single_label_output_ops_are_refused_for_a_multilabel_model(trained, tmp_path):
    with pytest.raises(ConfigError, match="--output_op argmax does not fit a multi-label"):
        export_model(trained, tmp_path, "--output_op", "argmax")
