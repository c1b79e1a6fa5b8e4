"""`paddleseg-imbalance lint`: each rule fires on a broken config or dataset, and not once fixed.

Config rules run on dicts written to YAML; data rules on the demo dataset with its
labels rewritten to show each problem. Expected values come from the case itself
(the number of classes written, the values saved), not from the lint.
"""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from paddleseg_imbalance.config.resolve import resolve_config
from paddleseg_imbalance.lint import RULES, LintInputError, lint
from paddleseg_imbalance.lint.known_components import from_managers, load_snapshot
from paddleseg_imbalance.lint.model_outputs import train_output_count
from paddleseg_imbalance.transforms.remap_labels import RemapLabels
from tests.helpers import REPO, base_config, write

LINT_CONFIGS = os.path.join(REPO, "tests", "lint_configs")
LAUNCHER = os.path.join(REPO, "paddleseg_imbalance_launcher.py")


def codes(report):
    return [finding.code for finding in report.findings]


def lint_dict(tmp_path, config, **kwargs):
    return lint(write(tmp_path, config), **kwargs)


# --- config rules: (code, how to break the base config, how to fix the broken one) ------

def _set(path, value):
    def change(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _delete(path):
    def change(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


def _chain(*changes):
    def change(config):
        for step in changes:
            step(config)
    return change


def _multilabel(num_classes, loss=None):
    """A multi-label setup: MultiLabelDataset with 2 label names and the aux transform."""
    def change(config):
        for section in ("train_dataset", "val_dataset"):
            config[section].update(type="MultiLabelDataset", num_classes=num_classes,
                                   label_names=["road", "built_up"])
            config[section]["transforms"].insert(0, {"type": "AddMultiLabelAuxiliaryCategory"})
        config["model"]["num_classes"] = num_classes
        if loss:
            config["loss"] = {"types": [loss], "coef": [1, 1, 1]}
    return change


SOFT = {"type": "CrossEntropyLoss"}
CONFIG_CASES = [
    ("PSI001", _set(("model", "num_classes"), 3), _set(("model", "num_classes"), 2)),
    ("PSI001", _set(("val_dataset", "num_classes"), 5), _set(("val_dataset", "num_classes"), 2)),
    ("PSI002", _delete(("train_dataset", "num_classes")),
     _set(("train_dataset", "num_classes"), 2)),
    ("PSI003", _chain(*(_set((s, "num_classes"), 1) for s in ("model", "train_dataset",
                                                               "val_dataset"))),
     _chain(*(_set((s, "num_classes"), 2) for s in ("model", "train_dataset", "val_dataset")))),
    ("PSI004", _chain(*(_set((s, "num_classes"), 1) for s in ("model", "train_dataset",
                                                               "val_dataset")),
                      _set(("loss", "types"), [{"type": "BCELoss"}])),
     _chain(*(_set((s, "num_classes"), 2) for s in ("model", "train_dataset", "val_dataset")))),
    ("PSI005", _set(("loss", "types"), [{"type": "CrossEntropyLoss", "ignore_index": 0}]),
     _set(("loss", "types"), [{"type": "CrossEntropyLoss", "ignore_index": 255}])),
    ("PSI005", _set(("val_dataset", "ignore_index"), 0), _delete(("val_dataset", "ignore_index"))),
    ("PSI006", _set(("model", "backbone", "type"), "STDC_1"),
     _set(("model", "backbone", "type"), "STDC1")),
    ("PSI006", _set(("evaluators",), [{"type": "SegMetric"}]),
     _set(("evaluators",), [{"type": "SegMetrics"}])),
    ("PSI007", _delete(("lr_scheduler",)),
     _set(("lr_scheduler",), {"type": "PolynomialDecay", "learning_rate": 0.01})),
    ("PSI008", _set(("model", "num_classes"), 0), _set(("model", "num_classes"), 2)),
    ("PSI009", _set(("class_names",), ["background"]),
     _set(("class_names",), ["background", "foreground"])),
    ("PSI010", _set(("loss", "coef"), [1, 1]), _set(("loss", "coef"), [1, 1, 1])),
    ("PSI010", _delete(("loss", "coef")), _set(("loss", "coef"), [1, 1, 1])),
    ("PSI011", _set(("loss",), {"types": [SOFT], "coef": [1]}),
     _set(("loss",), {"types": [SOFT], "coef": [1, 1, 1]})),
    ("PSI011", _set(("model",), {"type": "BiSeNetV2", "num_classes": 2}),
     _set(("loss",), {"types": [SOFT] * 5, "coef": [1] * 5})),
    ("PSI012", _set(("loss", "types"), [{"type": "CrossEntropyLoss", "weight": [1, 2, 3]}]),
     _set(("loss", "types"), [{"type": "CrossEntropyLoss", "weight": [1, 2]}])),
    ("PSI012", _set(("loss", "types"), [{"type": "TverskyLoss", "weight": "inverse"}]),
     _set(("loss", "types"), [{"type": "TverskyLoss", "weight": "auto"}])),
    ("PSI013", _set(("loss", "types"), [{"type": "CrossEntropyLoss", "weight": [1, -5]}]),
     _set(("loss", "types"), [{"type": "CrossEntropyLoss", "weight": [1, 5]}])),
    ("PSI014", _set(("loss", "coef"), [1, "a", 1]), _set(("loss", "coef"), [1, 1, 1])),
    ("PSI015", _set(("model", "backbone_indices"), [1, 2, 3, 4]),
     _chain(_set(("model", "arm_out_chs"), [32, 32, 64, 128]),
            _set(("model", "seg_head_inter_chs"), [32]))),
    ("PSI020", _chain(_multilabel(2), _set(("train_dataset", "num_labels"), 2)),
     _chain(_multilabel(3), _set(("train_dataset", "num_labels"), 2))),
    ("PSI021", _chain(_multilabel(3), lambda c: c["train_dataset"]["transforms"].reverse()),
     lambda c: c["train_dataset"]["transforms"].reverse()),
    ("PSI022", _chain(_multilabel(3), lambda c: c["val_dataset"]["transforms"].pop(0)),
     lambda c: c["val_dataset"]["transforms"].insert(
         0, {"type": "AddMultiLabelAuxiliaryCategory"})),
    ("PSI023", _chain(_multilabel(2), _set(("val_dataset", "label_names"), ["road"]),
                      _set(("train_dataset", "label_names"), ["road"]),
                      _set(("loss", "types"), [{"type": "LovaszHingeLoss"}])),
     _set(("loss", "types"), [{"type": "MultiLabelLovaszHingeLoss"}])),
    ("PSI030", _set(("train_dataset", "transforms"), [
        {"type": "RandomPaddingCrop", "crop_size": [32, 32], "label_padding_value": 0}]),
     _set(("train_dataset", "transforms"), [
         {"type": "RandomPaddingCrop", "crop_size": [32, 32], "label_padding_value": 255}])),
    ("PSI031", _set(("train_dataset", "transforms"), [{"type": "ScalePadding"}]),
     _set(("train_dataset", "transforms"), [{"type": "PaddingByAspectRatio"},
                                            {"type": "Resize", "target_size": [64, 64]}])),
    ("PSI032", _set(("train_dataset", "transforms"), [
        {"type": "RandomPaddingCrop", "crop_size": [32, 32]},
        {"type": "RemapLabels", "mapping": {255: 1}}]),
     _set(("train_dataset", "transforms"), [
         {"type": "RemapLabels", "mapping": {255: 1}},
         {"type": "RandomPaddingCrop", "crop_size": [32, 32]}])),
    # Without `model` the file is a fragment: an unknown type there is a warning.
    ("PSI016", _chain(_delete(("model",)), _set(("train_dataset", "type"), "Datasett")),
     _set(("train_dataset", "type"), "Dataset")),
]


def test_the_base_config_is_clean(tmp_path):
    assert lint_dict(tmp_path, base_config()).findings == []


@pytest.mark.parametrize("code,breaks,fixes", CONFIG_CASES,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(CONFIG_CASES)])
def test_config_rule_fires_and_is_silent_once_fixed(tmp_path, code, breaks, fixes):
    config = base_config()
    breaks(config)
    broken = lint_dict(tmp_path, config)
    assert code in codes(broken), broken.text()
    finding = next(f for f in broken.findings if f.code == code)
    assert finding.key and finding.message and finding.fix
    assert finding.severity == RULES[code].severity
    fixes(config)
    assert code not in codes(lint_dict(tmp_path, config)), lint_dict(tmp_path, config).text()


def test_every_config_rule_has_a_case():
    covered = {case[0] for case in CONFIG_CASES}
    assert covered == {code for code in RULES if code < "PSI100"}


def test_unknown_component_suggests_the_closest_name(tmp_path):
    config = base_config()
    config["loss"]["types"] = [{"type": "CrossEntropyLos"}]
    finding = next(f for f in lint_dict(tmp_path, config).findings if f.code == "PSI006")
    assert finding.key == "loss.types[0].type" and "CrossEntropyLoss" in finding.fix


def test_loss_count_message_names_the_model_and_both_counts(tmp_path):
    config = base_config()
    config["model"] = {"type": "OCRNet", "num_classes": 2, "backbone": {"type": "HRNet_W18"}}
    finding = next(f for f in lint_dict(tmp_path, config).findings if f.code == "PSI011")
    assert "OCRNet returns 2 outputs" in finding.message and "2 != 3" in finding.message


def test_coef_given_per_class_gets_the_hint(tmp_path):
    config = base_config()
    config["model"]["type"], config["loss"]["coef"] = "UNet", [1, 10]
    config["loss"]["types"] = [SOFT]
    finding = next(f for f in lint_dict(tmp_path, config).findings if f.code == "PSI011")
    assert "class weights go in the loss's `weight`" in finding.fix


# --- the reported multi-label case, config-only and from the data ---------------------

def test_two_labels_with_num_classes_2_under_the_aux_transform_is_an_error(tmp_path):
    config = base_config()
    _multilabel(2)(config)
    report = lint_dict(tmp_path, config)
    errors = [f for f in report.findings if f.code == "PSI020"]
    assert errors and errors[0].severity == "error"
    assert "num_classes: 3" in errors[0].fix and "2 + 1 = 3" in errors[0].message


# --- _base_ resolution ------------------------------------------------------------------

def test_base_chain_merges_as_paddleseg_does_and_names_the_file_of_each_key():
    stdc2 = os.path.join(LINT_CONFIGS, "pp_liteseg",
                         "pp_liteseg_stdc2_cityscapes_1024x512_scale0.5_160k.yml")
    resolved = resolve_config(stdc2)
    stdc2_weights = "https://bj.bcebos.com/paddleseg/dygraph/PP_STDCNet2.tar.gz"
    assert resolved.data["model"] == {"type": "PPLiteSeg", "backbone": {
        "type": "STDC2", "pretrained": stdc2_weights}}  # `_inherited_: False`: STDC1's gone
    assert resolved.data["batch_size"] == 4
    assert resolved.data["train_dataset"]["type"] == "Cityscapes"
    assert resolved.data["optimizer"] == {"type": "sgd", "momentum": 0.9, "weight_decay": 5.0e-4}
    assert resolved.origin(("model", "backbone", "type")) == stdc2
    assert resolved.origin(("train_dataset", "type")).endswith("_base_/cityscapes.yml")
    assert resolved.origin(("optimizer", "weight_decay")).endswith(
        "pp_liteseg_stdc1_cityscapes_1024x512_scale0.5_160k.yml")
    assert len(resolved.files) == 3


def test_resolution_matches_paddleseg_config():
    from paddleseg.cvlibs.config import parse_from_yaml

    for path in _paddleseg_style_configs():
        assert resolve_config(path).data == parse_from_yaml(path), path


def test_a_finding_in_a_base_file_names_that_file(tmp_path):
    write(tmp_path, base_config(), "base.yml")
    child = write(tmp_path, {"_base_": "base.yml", "model": {"type": "UNet"}}, "child.yml")
    finding = next(f for f in lint(child).findings if f.code == "PSI011")
    assert finding.file.endswith("base.yml") and finding.key == "loss.coef"


def test_opts_are_applied_as_paddleseg_applies_them(tmp_path):
    path = write(tmp_path, base_config())
    assert "PSI001" in codes(lint(path, opts=["model.num_classes=4"]))
    with pytest.raises(LintInputError, match="not key=value"):
        lint(path, opts=["model.num_classes"])


# --- every config shipped or PaddleSeg-style: no crash, no error ------------------------

def _paddleseg_style_configs():
    return sorted(path for path in glob.glob(os.path.join(LINT_CONFIGS, "**", "*.yml"),
                                             recursive=True)
                  if "_base_" not in path)


def _shipped_configs():
    return sorted(glob.glob(os.path.join(REPO, "configs", "**", "*.yml"), recursive=True))


@pytest.mark.parametrize("path", _shipped_configs() + _paddleseg_style_configs(),
                         ids=lambda p: os.path.relpath(p, REPO))
def test_valid_configs_lint_without_errors(path):
    report = lint(path)
    assert report.errors == [], report.text()


def test_model_output_table_knows_the_common_models():
    counts = {"PPLiteSeg": 3, "BiSeNetV2": 5, "OCRNet": 2, "UNet": 1, "DeepLabV3P": 1,
              "PSPNet": 2, "STDCSeg": 4, "SegFormer": 1, "FastSCNN": 2, "DDRNet_23": 1}
    assert {name: train_output_count({"type": name}) for name in counts} == counts
    assert train_output_count({"type": "PSPNet", "enable_auxiliary_loss": False}) == 1
    assert train_output_count({"type": "PPLiteSeg", "backbone_indices": [3, 4]}) == 2
    assert train_output_count({"type": "SomethingNew"}) is None


# --- output, exit codes, input errors ---------------------------------------------------

def run_cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, LAUNCHER, "lint", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_json_output_follows_the_documented_schema(tmp_path):
    config = base_config()
    config["model"]["num_classes"] = 3
    config["train_dataset"]["transforms"] = [{"type": "RandomPaddingCrop",
                                              "crop_size": [32, 32], "label_padding_value": 0}]
    result = run_cli(write(tmp_path, config), "--format", "json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert set(document) == {"version", "config", "scan_data", "fragment", "paddlex", "summary",
                             "findings"}
    assert document["version"] == 1 and document["scan_data"] is False
    assert document["fragment"] is None and document["paddlex"] is False
    assert document["summary"] == {"error": 1, "warning": 1}
    for finding in document["findings"]:
        assert set(finding) == {"code", "severity", "name", "key", "file", "message", "fix",
                                "data_files"}
    assert [f["severity"] for f in document["findings"]] == ["error", "warning"]
    assert document["findings"][0]["key"] == "model.num_classes"


def test_exit_codes_and_strict(tmp_path):
    clean = write(tmp_path, base_config(), "clean.yml")
    warned = base_config()
    warned["train_dataset"]["transforms"] = [{"type": "ScalePadding"}]
    warned = write(tmp_path, warned, "warned.yml")
    broken = base_config()
    broken["loss"]["coef"] = [1]
    broken = write(tmp_path, broken, "broken.yml")
    (tmp_path / "bad.yml").write_text("model: [unclosed\n")
    missing_base = write(tmp_path, {"_base_": "nowhere.yml"}, "orphan.yml")
    assert run_cli(clean).returncode == 0
    assert run_cli(warned).returncode == 0 and "PSI031" in run_cli(warned).stdout
    assert run_cli(warned, "--strict").returncode == 1
    assert run_cli(broken).returncode == 1
    for unusable in (tmp_path / "missing.yml", tmp_path / "bad.yml", missing_base):
        result = run_cli(unusable)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "nowhere.yml" in run_cli(missing_base).stderr


def test_config_only_lint_imports_no_paddle(tmp_path):
    config = write(tmp_path, base_config())
    code = ("import sys; sys.argv = ['paddleseg-imbalance', 'lint', sys.argv[1]]; "
            "import paddleseg_imbalance_launcher as launcher\n"
            "try:\n    launcher.main()\nexcept SystemExit:\n    pass\n"
            "assert 'paddle' not in sys.modules and 'paddleseg' not in sys.modules, "
            "sorted(m for m in sys.modules if m.startswith('paddle'))")
    result = subprocess.run([sys.executable, "-c", code, config], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_tools_lint_config_runs_from_any_directory(tmp_path):
    config = write(tmp_path, base_config())
    result = subprocess.run([sys.executable, os.path.join(REPO, "tools", "lint_config.py"),
                             config], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "no problems found" in result.stdout, result.stderr


# --- the component snapshot -------------------------------------------------------------

def test_known_components_snapshot_is_up_to_date():
    """Refresh with: python -m paddleseg_imbalance.lint.known_components --write"""
    live, snapshot = from_managers(), load_snapshot()
    if live.paddleseg_version != snapshot.paddleseg_version:
        pytest.skip(f"snapshot is of PaddleSeg {snapshot.paddleseg_version}, "
                    f"running {live.paddleseg_version}")
    assert live == snapshot, ("stale known_components.json: run python -m "
                              "paddleseg_imbalance.lint.known_components --write")


# --- RemapLabels --------------------------------------------------------------------------

def test_remap_labels_maps_all_values_at_once_and_leaves_the_image():
    image = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    label = np.array([[0, 255], [1, 2]], np.uint8)
    data = RemapLabels({255: 1, 1: 2, 2: 1})({"img": image.copy(), "label": label.copy()})
    np.testing.assert_array_equal(data["label"], [[0, 1], [2, 1]])
    assert data["label"].dtype == np.uint8
    np.testing.assert_array_equal(data["img"], image)


def test_remap_labels_widens_the_dtype_for_large_targets_and_accepts_digit_keys():
    data = RemapLabels({"3": 300})({"label": np.array([[3, 0]], np.uint8)})
    np.testing.assert_array_equal(data["label"], [[300, 0]])


def test_remap_labels_passes_samples_without_a_label():
    assert RemapLabels({255: 1})({"label": None}) == {"label": None}
    assert "label" not in RemapLabels({255: 1})({"img": np.zeros((2, 2, 3))})


@pytest.mark.parametrize("mapping", [{255: "one"}, {255: 1.5}, {"a": 1}, {}, [255, 1],
                                     {255: True}])
def test_remap_labels_rejects_a_mapping_that_is_not_int_to_int(mapping):
    with pytest.raises(ValueError, match="RemapLabels"):
        RemapLabels(mapping)


def test_remap_labels_is_registered():
    from paddleseg.cvlibs import manager

    assert manager.TRANSFORMS["RemapLabels"] is RemapLabels


# --- data rules ---------------------------------------------------------------------------

def binary_copy(demo, tmp_path, change=None, val_change=None):
    """A copy of the binary demo set (labels rewritten by `change(array, index)`) and a config."""
    root = tmp_path / "binary"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for split, fn in (("train", change), ("val", val_change)):
        lines = (demo / "binary" / f"{split}.txt").read_text().split("\n")
        kept = []
        for index, line in enumerate(l for l in lines if l):
            image, label = line.split()
            (root / image).write_bytes((demo / "binary" / image).read_bytes())
            array = np.asarray(Image.open(demo / "binary" / label))
            result = fn(array, index) if fn else array
            if isinstance(result, tuple):  # (array, file name): another format
                result, label = result[0], os.path.splitext(label)[0] + result[1]
            Image.fromarray(result).save(root / label)
            kept.append(f"{image} {label}")
        (root / f"{split}.txt").write_text("\n".join(kept) + "\n")
    return root, base_config(str(root))


def scan(tmp_path, config, **kwargs):
    return lint_dict(tmp_path, config, scan_data=True, workers=1, progress=False, **kwargs)


def test_the_demo_data_is_clean_but_for_its_output_stride(demo_root, tmp_path):
    _, config = binary_copy(demo_root, tmp_path)
    # The demo roads are about 4 px wide; PP-LiteSeg predicts at 1/8 by default.
    assert codes(scan(tmp_path, config)) == ["PSI115"]


def test_an_output_stride_coarser_than_the_structures_is_a_warning(demo_root, tmp_path):
    _, config = binary_copy(demo_root, tmp_path)
    finding = next(f for f in scan(tmp_path, config).findings if f.code == "PSI115")
    assert finding.severity == "warning" and finding.key == "model.backbone_indices"
    assert "1/8" in finding.message and "backbone_indices: [1, 2, 3, 4]" in finding.fix


def test_0_255_masks_with_ignore_255_are_an_error_with_the_remap_fix(demo_root, tmp_path):
    to_255 = lambda a, i: (a * 255).astype(np.uint8)  # noqa: E731
    _, config = binary_copy(demo_root, tmp_path, to_255, to_255)
    report = scan(tmp_path, config)
    found = [f for f in report.findings if f.code == "PSI102"]
    assert [f.key for f in found] == ["train_dataset.transforms", "val_dataset.transforms"]
    assert found[0].severity == "error"
    assert "- type: RemapLabels" in found[0].fix and "mapping: {255: 1}" in found[0].fix
    assert report.exit_code() == 1
    assert "PSI108" not in codes(report)  # the same cause, reported once
    for section in ("train_dataset", "val_dataset"):
        config[section]["transforms"].insert(0, {"type": "RemapLabels", "mapping": {255: 1}})
    assert codes(scan(tmp_path, config)) == ["PSI115"]  # the demo roads' width, as above


def test_values_above_num_classes_list_files_and_suggest_a_contiguous_mapping(demo_root, tmp_path):
    sparse = lambda a, i: np.where(a == 1, 15 if i % 2 else 190, 0).astype(np.uint8)  # noqa
    _, config = binary_copy(demo_root, tmp_path, sparse, sparse)
    for section in ("model", "train_dataset", "val_dataset"):
        config[section]["num_classes"] = 3
    finding = next(f for f in scan(tmp_path, config).findings if f.code == "PSI101")
    assert "mapping: {15: 1, 190: 2}" in finding.fix
    assert finding.data_files and all(path.endswith(".png") for path in finding.data_files)
    for section in ("train_dataset", "val_dataset"):
        config[section]["transforms"].insert(0, {"type": "RemapLabels",
                                                 "mapping": {15: 1, 190: 2}})
    assert "PSI101" not in codes(scan(tmp_path, config))


def test_labels_that_are_0_to_k_suggest_num_classes(demo_root, tmp_path):
    three = lambda a, i: (a * (1 + i % 2)).astype(np.uint8)  # noqa: E731  (values 0, 1, 2)
    _, config = binary_copy(demo_root, tmp_path, three)
    finding = next(f for f in scan(tmp_path, config).findings if f.code == "PSI101")
    assert "set num_classes: 3" in finding.fix


def test_rgb_labels_get_a_colour_table(demo_root, tmp_path):
    def coloured(array, index):
        rgb = np.zeros(array.shape + (3,), np.uint8)
        rgb[array == 1] = (128, 0, 0)
        return rgb
    _, config = binary_copy(demo_root, tmp_path, coloured)
    finding = next(f for f in scan(tmp_path, config).findings if f.code == "PSI103")
    assert "(0, 0, 0) -> 0" in finding.fix and "(128, 0, 0) -> 1" in finding.fix


def test_palette_labels_are_fine(demo_root, tmp_path):
    def palette(array, index):
        image = Image.fromarray(array, mode="L").convert("P")
        return np.asarray(image)
    _, config = binary_copy(demo_root, tmp_path, palette)
    assert "PSI103" not in codes(scan(tmp_path, config))


def test_jpeg_labels_are_flagged(demo_root, tmp_path):
    _, config = binary_copy(demo_root, tmp_path, lambda a, i: (a, ".jpg"))
    assert "PSI104" in codes(scan(tmp_path, config))


def test_label_size_mismatch_and_missing_files(demo_root, tmp_path):
    root, config = binary_copy(demo_root, tmp_path,
                               lambda a, i: a[:32] if i == 0 else a)
    first_val = (root / "val.txt").read_text().split()[1]
    os.remove(root / first_val)
    report = scan(tmp_path, config)
    size = next(f for f in report.findings if f.code == "PSI105")
    assert "32x64" in size.message and size.data_files[0].endswith("train_0000.png")
    missing = next(f for f in report.findings if f.code == "PSI100")
    assert missing.key == "val_dataset" and first_val in missing.message


def test_missing_dataset_root_is_reported_at_its_key(tmp_path):
    config = base_config(str(tmp_path / "gone"))
    finding = next(f for f in scan(tmp_path, config).findings if f.code == "PSI100")
    assert finding.key == "train_dataset.dataset_root"


def test_a_class_that_never_occurs_and_a_val_set_without_foreground(demo_root, tmp_path):
    empty = lambda a, i: np.zeros_like(a)  # noqa: E731
    _, config = binary_copy(demo_root, tmp_path, None, empty)
    for section in ("model", "train_dataset", "val_dataset"):
        config[section]["num_classes"] = 3
    config["class_names"] = ["background", "road", "water"]
    report = scan(tmp_path, config)
    absent = [f for f in report.findings if f.code == "PSI106"]
    assert [f.key for f in absent] == ["train_dataset.num_classes"] and "water" in absent[0].message
    assert "PSI107" in codes(report)


def test_ignore_covering_much_of_the_labels(demo_root, tmp_path):
    def mostly_ignored(array, index):
        array = array.copy()
        array[: array.shape[0] // 2 + 4] = 255
        return array
    _, config = binary_copy(demo_root, tmp_path, mostly_ignored)
    finding = next(f for f in scan(tmp_path, config).findings if f.code == "PSI108")
    assert "mapping: {255: 0}" in finding.fix


def test_dry_run_catches_padding_with_a_class_value(demo_root, tmp_path):
    _, config = binary_copy(demo_root, tmp_path)
    config["train_dataset"]["transforms"] = [
        {"type": "Padding", "target_size": [80, 80], "label_padding_value": 7}]
    assert {"PSI030", "PSI109"} <= set(codes(scan(tmp_path, config)))
    config["train_dataset"]["transforms"][0]["label_padding_value"] = 255
    assert not {"PSI030", "PSI109"} & set(codes(scan(tmp_path, config)))


def test_dry_run_reports_a_transform_that_cannot_be_built(demo_root, tmp_path):
    _, config = binary_copy(demo_root, tmp_path)
    config["train_dataset"]["transforms"].insert(0, {"type": "RemapLabels",
                                                     "mapping": {255: "one"}})
    finding = next(f for f in scan(tmp_path, config).findings if f.code == "PSI110")
    assert "RemapLabels" in finding.message


def test_an_unlistable_dataset_is_reported_as_not_scanned(tmp_path):
    config = base_config(str(tmp_path))
    config["train_dataset"]["mode"] = "training"
    assert "PSI112" in codes(scan(tmp_path, config))


def multilabel_config(demo, num_classes):
    root = str(demo / "multilabel")
    config = base_config(root)
    for section in ("train_dataset", "val_dataset"):
        config[section].update(type="MultiLabelDataset", num_classes=num_classes)
        config[section]["transforms"].insert(0, {"type": "AddMultiLabelAuxiliaryCategory"})
    config["model"]["num_classes"] = num_classes
    config["loss"] = {"types": [{"type": "BCELoss"}], "coef": [1, 1, 1]}
    return config


def test_scan_counts_the_labels_of_strip_files_for_the_aux_rule(demo_root, tmp_path):
    report = scan(tmp_path, multilabel_config(demo_root, 2))
    finding = next(f for f in report.findings if f.code == "PSI020")
    assert finding.severity == "error" and "num_classes: 3" in finding.fix
    assert "label files" in finding.message
    assert scan(tmp_path, multilabel_config(demo_root, 3)).errors == []


def test_multilabel_strips_that_fit_no_layout(demo_root, tmp_path):
    root = tmp_path / "ml"
    config = multilabel_config(demo_root, 3)
    (root / "labels").mkdir(parents=True)
    line = (demo_root / "multilabel" / "train.txt").read_text().split("\n")[0]
    image, label = line.split()
    Image.fromarray(np.zeros((64, 100), np.uint8)).save(root / "bad.png")
    (root / "train.txt").write_text(f"{demo_root / 'multilabel' / image} bad.png\n")
    config["train_dataset"].update(dataset_root=str(root), train_path=str(root / "train.txt"))
    assert "PSI111" in codes(scan(tmp_path, config, dry_run_samples=0))


def test_16_bit_labels_are_a_warning(demo_root, tmp_path):
    to_16 = lambda a, i: a.astype(np.uint16)  # noqa: E731
    _, config = binary_copy(demo_root, tmp_path, to_16)
    assert codes(scan(tmp_path, config, dry_run_samples=0)) == ["PSI113", "PSI115"]


def test_a_file_list_line_without_a_label_is_an_error(demo_root, tmp_path):
    root, config = binary_copy(demo_root, tmp_path)
    lines = (root / "train.txt").read_text().splitlines()
    with open(root / "train.txt", "a") as file:
        file.write("images/train_0000.png\n")
    finding = next(f for f in scan(tmp_path, config).findings if f.code == "PSI114")
    assert f"line {len(lines) + 1}:" in finding.message and finding.key == "train_dataset.train_path"


def _three_classes(config):
    for section in ("model", "train_dataset", "val_dataset"):
        config[section]["num_classes"] = 3
    return config


def _without_a_first_val_label(demo, tmp_path):
    root, config = binary_copy(demo, tmp_path)
    os.remove(root / (root / "val.txt").read_text().split()[1])
    return config


def _a_strip_of_no_layout(demo, tmp_path):
    config = multilabel_config(demo, 3)
    image = (demo / "multilabel" / "train.txt").read_text().split()[0]
    Image.fromarray(np.zeros((64, 100), np.uint8)).save(tmp_path / "bad.png")
    (tmp_path / "train.txt").write_text(f"{demo / 'multilabel' / image} bad.png\n")
    config["train_dataset"].update(dataset_root=str(tmp_path),
                                   train_path=str(tmp_path / "train.txt"))
    return config


def _a_line_without_a_label(demo, tmp_path):
    root, config = binary_copy(demo, tmp_path)
    with open(root / "train.txt", "a") as file:
        file.write("images/train_0000.png\n")
    return config


def _an_unlistable_dataset(demo, tmp_path):
    config = base_config(str(tmp_path))
    config["train_dataset"]["mode"] = "training"
    return config


def _with_transforms(transforms):
    def build(demo, tmp_path):
        _, config = binary_copy(demo, tmp_path)
        config["train_dataset"]["transforms"] = transforms
        return config
    return build


def _changed(change, val_change=None, edit=lambda config: config):
    return lambda demo, tmp_path: edit(binary_copy(demo, tmp_path, change, val_change)[1])


# Each data rule and a dataset (built from the demo one) on which it fires.
DATA_CASES = {
    "PSI100": lambda demo, tmp_path: base_config(str(tmp_path / "gone")),
    "PSI101": _changed(lambda a, i: (a * (1 + i % 2)).astype(np.uint8)),
    "PSI102": _changed(lambda a, i: (a * 255).astype(np.uint8)),
    "PSI103": _changed(lambda a, i: np.stack([a * 128, a * 0, a * 0], axis=-1)),
    "PSI104": _changed(lambda a, i: (a, ".jpg")),
    "PSI105": _changed(lambda a, i: a[:32] if i == 0 else a),
    "PSI106": _changed(None, edit=_three_classes),
    "PSI107": _changed(None, lambda a, i: np.zeros_like(a)),
    "PSI108": _changed(lambda a, i: np.where(np.arange(a.shape[0])[:, None] < 36, 255, a)
                       .astype(np.uint8)),
    "PSI109": _with_transforms([{"type": "Padding", "target_size": [80, 80],
                                 "label_padding_value": 7}]),
    "PSI110": _with_transforms([{"type": "RemapLabels", "mapping": {255: "one"}}]),
    "PSI111": _a_strip_of_no_layout,
    "PSI112": _an_unlistable_dataset,
    "PSI113": _changed(lambda a, i: a.astype(np.uint16)),
    "PSI114": _a_line_without_a_label,
    "PSI115": _changed(None),
}


def test_every_data_rule_has_a_case():
    assert set(DATA_CASES) == {code for code in RULES if code >= "PSI100"}


@pytest.mark.parametrize("code", sorted(DATA_CASES))
def test_every_data_rule_fires_on_its_case(demo_root, tmp_path, code):
    report = scan(tmp_path, DATA_CASES[code](demo_root, tmp_path))
    assert code in codes(report), report.text()


def test_scan_data_json_on_stdout_is_json_alone(demo_root, tmp_path):
    to_255 = lambda a, i: (a * 255).astype(np.uint8)  # noqa: E731
    _, config = binary_copy(demo_root, tmp_path, to_255, to_255)
    result = run_cli(write(tmp_path, config), "--scan-data", "--format", "json",
                     "--workers", "1")
    assert result.returncode == 1, result.stderr[-2000:]
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["PSI102", "PSI102"]


# --- lint before every tool runs ----------------------------------------------------------------

def train_args(config, *flags):
    from paddleseg_imbalance.engine.args import train_parser

    return train_parser().parse_args(["--config", config, "--device", "cpu", *flags])


def test_training_stops_on_lint_errors_with_the_findings(tmp_path):
    from paddleseg_imbalance.engine.config import ConfigError
    from paddleseg_imbalance.engine.config_lint import lint_before_run

    config = base_config()
    config["loss"] = {"types": [SOFT], "coef": [1]}
    path = write(tmp_path, config)
    with pytest.raises(ConfigError, match="PSI011") as error:
        lint_before_run(train_args(path))
    assert "--no_lint" in str(error.value)
    lint_before_run(train_args(path, "--opts", "loss.coef=[1,1,1]"))  # --opts applied
    with pytest.raises(ConfigError, match=r"config file .*nope.yml.* does not exist \(--config"):
        lint_before_run(train_args(str(tmp_path / "nope.yml")))


def test_no_lint_skips_the_lint(tmp_path, monkeypatch):
    from paddleseg_imbalance.engine import train

    class Started(Exception):
        pass

    def session(args):
        raise Started

    monkeypatch.setattr(train, "lint_before_run", lambda args: pytest.fail("linted"))
    monkeypatch.setattr(train, "Session", session)
    with pytest.raises(Started):
        train.run(train_args(write(tmp_path, base_config()), "--no_lint"))


def test_tools_train_exits_2_on_a_lint_error(tmp_path):
    config = base_config()
    for section in ("model", "train_dataset", "val_dataset"):
        config[section]["num_classes"] = 1
    result = subprocess.run([sys.executable, os.path.join(REPO, "tools", "train.py"), "--config",
                             write(tmp_path, config), "--device", "cpu"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "PSI003" in result.stderr and "num_classes: 2" in result.stderr


@pytest.mark.parametrize("tool", ["val", "predict", "export"])
def test_every_tool_stops_on_lint_errors_unless_told_not_to(tool, tmp_path, monkeypatch):
    import importlib

    from paddleseg_imbalance.engine import args as tool_args
    from paddleseg_imbalance.engine.config import ConfigError

    module = importlib.import_module(f"paddleseg_imbalance.engine.{tool}")
    config = base_config()
    config["loss"] = {"types": [SOFT], "coef": [1]}
    path = write(tmp_path, config)
    image = tmp_path / "image.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    flags = {"val": ["--model_path", str(image)], "export": [],
             "predict": ["--model_path", str(image), "--image_path", str(image)]}[tool]
    parser = getattr(tool_args, f"{tool}_parser")()
    with pytest.raises(ConfigError, match="PSI011") as error:
        module.run(parser.parse_args(["--config", path, "--device", "cpu", *flags]))
    assert "--no_lint" in str(error.value)

    class Started(Exception):
        pass

    def session(args):
        raise Started

    monkeypatch.setattr(module, "Session", session)
    with pytest.raises(Started):
        module.run(parser.parse_args(["--config", path, "--device", "cpu", "--no_lint",
                                      *flags]))


def test_a_num_classes_disagreement_gets_one_fix_from_every_rule(tmp_path):
    # model says 3, the datasets 2: PSI001 asks for the train set's 2, so PSI012 counts
    # the weights against 2 too, and a 2-weight list draws no "give 3 weights".
    config = base_config()
    config["model"]["num_classes"] = 3
    config["loss"] = {"types": [dict(SOFT, weight=[1, 10])], "coef": [1]}
    report = lint_dict(tmp_path, config)
    assert "PSI012" not in codes(report)
    [mismatch] = [finding for finding in report.findings if finding.code == "PSI001"]
    assert mismatch.key == "model.num_classes" and "e.g. 2" in mismatch.fix
    config["loss"]["types"][0]["weight"] = [1, 5, 10]
    [weights] = [f for f in lint_dict(tmp_path, config).findings if f.code == "PSI012"]
    assert "give 2 weights" in weights.fix
