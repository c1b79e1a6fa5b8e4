"""The lint on real config trees: PaddleSeg develop's `configs/`, fragments, folders, the
installed PaddleSeg's component names, and PaddleX 3 segmentation configs.

The develop tree is ../shared/paddleseg-develop/configs.tar.gz next to the repository
(see its README); the test that lints it is skipped when that file is absent.
"""
import glob
import json
import os
import tarfile
import time

import numpy as np
import pytest
import yaml
from PIL import Image

from paddleseg_imbalance import cli
from paddleseg_imbalance.lint import LintInputError, lint
from paddleseg_imbalance.lint import known_components as kc
from paddleseg_imbalance.lint.source_scan import scan_wheel
from paddleseg_imbalance.lint.tree import lint_tree
from paddleseg_imbalance.stats_report import inputs_from_config
from tests.helpers import REPO, base_config, run_tool, write

DEVELOP = os.path.join(os.path.dirname(REPO), "shared", "paddleseg-develop")
DEVELOP_TREE = os.path.join(DEVELOP, "configs.tar.gz")
DEVELOP_WHEEL = glob.glob(os.path.join(DEVELOP, "paddleseg-*.whl"))
PADDLEX_CONFIG = os.path.join(REPO, "tests", "lint_configs", "paddlex", "PP-LiteSeg-T.yaml")
INSTALLED_LINE = kc.line_name(kc.installed().paddleseg_version)

# The two configs PaddleSeg develop ships broken: STDCSeg trains with 4 outputs, the
# loss config gives 1 type for 3 coef.
PSSL = {"configs/pssl/stdc1_seg_pssl.yml", "configs/pssl/stdc2_seg_pssl.yml"}
# Develop registers the backbone as `Efficientformerv2_s0` (lower-case f) but this config
# asks for `EfficientFormerv2_s0`: broken on develop too.
EFFICIENTFORMER_S0 = "configs/efficientformerv2/efficientformerv2_s0_ade20k_512x512_40k.yml"
# Configs of models only develop has: errors on 2.8.0, whose fix names the develop line.
DEVELOP_ONLY = {EFFICIENTFORMER_S0,
                "configs/efficientformerv2/efficientformerv2_s2_ade20k_512x512_40k.yml",
                *(f"configs/pidnet/pidnet_{size}_cityscapes_1024x1024_120k.yml"
                  for size in ("small", "medium", "large")),
                *(f"configs/seaformer/seaformer_{size}_ade20k_512x512_160k.yml"
                  for size in ("tiny", "small", "base", "large")),
                "configs/stfpm/stfpm_resnet18_mvtec.yml"}


@pytest.fixture(scope="module")
def develop_tree(tmp_path_factory):
    if not os.path.isfile(DEVELOP_TREE):
        pytest.skip(f"{DEVELOP_TREE} is absent (PaddleSeg develop's configs/ tree)")
    root = tmp_path_factory.mktemp("develop")
    with tarfile.open(DEVELOP_TREE) as archive:
        archive.extractall(root, **({"filter": "data"} if hasattr(tarfile, "data_filter")
                                    else {}))
    return root


def _relative(report, root):
    return os.path.relpath(report.config, root).replace(os.sep, "/")


def test_the_develop_tree_has_no_false_errors_for_the_installed_paddleseg(develop_tree):
    tree = lint_tree([str(develop_tree / "configs")])
    assert len(tree.reports) == 222 and tree.unreadable == []
    with_errors = {_relative(r, develop_tree): r for r in tree.reports if r.errors}
    expected = PSSL | ({EFFICIENTFORMER_S0} if INSTALLED_LINE == "develop" else DEVELOP_ONLY)
    assert set(with_errors) == expected, tree.text()
    for name in PSSL:
        assert [f.code for f in with_errors[name].errors] == ["PSI011"]
        assert "4 outputs" in with_errors[name].errors[0].message
    for name in expected - PSSL:
        for finding in with_errors[name].errors:
            assert finding.code == "PSI006"
            assert ("registered by PaddleSeg develop, not by the installed"
                    in finding.message or "Efficientformerv2_s0" in finding.fix), finding
    assert not any(f.code == "PSI007" for r in tree.reports for f in r.findings)
    assert sum(bool(r.fragment) for r in tree.reports) == 18


def test_lint_of_the_develop_tree_is_one_fast_process_with_a_summary(develop_tree):
    started = time.monotonic()
    result = run_tool("lint_config", develop_tree / "configs", timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("222 files (18 fragments, 0 unreadable)")
    assert "PSI011 2" in summary
    assert elapsed < 10, f"lint configs/ took {elapsed:.1f} s"


# --- component names --------------------------------------------------------------------

def test_a_component_only_develop_registers_names_the_line(tmp_path):
    config = base_config()
    config["model"] = {"type": "PIDNet", "num_classes": 2}
    report = lint(write(tmp_path, config), known=kc.load_snapshot())
    finding = next(f for f in report.findings if f.code == "PSI006")
    assert "registered by PaddleSeg develop, not by the installed 2.8.0" in finding.message
    assert "install PaddleSeg develop" in finding.fix


def test_the_source_scan_finds_what_the_snapshot_holds():
    if kc.installed().paddleseg_version != kc.load_snapshot().paddleseg_version:
        pytest.skip("the snapshot is of another PaddleSeg than the installed one")
    scanned, snapshot = kc.installed(), kc.load_snapshot()
    for manager in kc.MANAGERS:
        assert set(snapshot.names[manager]) <= set(scanned.names[manager]), manager
    assert scanned.dataset_constants == snapshot.dataset_constants


@pytest.mark.skipif(not DEVELOP_WHEEL, reason="no PaddleSeg develop wheel in ../shared")
def test_the_develop_wheel_is_read_as_a_zip_and_the_lines_snapshot_is_current():
    names, constants, version = scan_wheel(DEVELOP_WHEEL[0])
    assert version == "0.0.0.dev0" and "PIDNet" in names["models"]
    assert constants["Cityscapes"]["num_classes"] == 19
    if INSTALLED_LINE == "develop":
        pytest.skip("the lines snapshot compares 2.8.0 with the wheel")
    assert kc.lines_from(kc.installed_paddleseg_dir(), DEVELOP_WHEEL[0])["lines"] \
        == kc.load_lines(), "stale paddleseg_lines.json: run python -m " \
        "paddleseg_imbalance.lint.known_components --write"


def test_components_of_a_user_module_count_when_named(tmp_path, capsys):
    module = tmp_path / "my_models.py"
    module.write_text("from paddleseg.cvlibs import manager\n\n\n"
                      "@manager.MODELS.add_component\nclass MyNet:\n    pass\n")
    config = base_config()
    config["model"] = {"type": "MyNet", "num_classes": 2}
    path = write(tmp_path, config)
    assert cli.main(["lint", path]) == 1
    assert "unknown model type 'MyNet'" in capsys.readouterr().out
    assert cli.main(["lint", path, "--components", str(module)]) == 0
    assert cli.main(["lint", path, "--components", str(tmp_path / "absent.py")]) == 2
    assert "--components" in capsys.readouterr().err


# --- fragments and folders --------------------------------------------------------------

def _data_fragment():
    config = base_config()
    return {key: config[key] for key in ("train_dataset", "val_dataset")}


def test_a_base_file_is_checked_for_what_it_holds_not_for_what_it_lacks(tmp_path):
    fragment = _data_fragment()
    (tmp_path / "_base_").mkdir()
    path = write(tmp_path / "_base_", fragment, "data.yml")
    report = lint(path)
    assert report.findings == [] and "_base_" in report.fragment
    fragment["train_dataset"]["num_classes"] = 0
    fragment["val_dataset"]["transforms"] = [{"type": "NoSuchTransform"}]
    codes = sorted(f.code for f in lint(write(tmp_path / "_base_", fragment, "data.yml")).findings)
    assert codes == ["PSI008", "PSI016"]


def test_a_complete_config_still_needs_every_section(tmp_path):
    config = base_config()
    del config["lr_scheduler"]
    report = lint(write(tmp_path, config))
    assert report.fragment is None and [f.code for f in report.findings] == ["PSI007"]


def test_a_base_named_by_a_sibling_is_a_fragment_in_a_folder_lint(tmp_path, capsys):
    base = base_config()
    del base["loss"]
    write(tmp_path, base, "base.yml")
    write(tmp_path, {"_base_": "base.yml", "loss": base_config()["loss"]}, "child.yml")
    assert [f.code for f in lint(str(tmp_path / "base.yml")).findings] == ["PSI007"]
    assert cli.main(["lint", str(tmp_path / "base.yml"), "--fragment"]) == 0
    assert cli.main(["lint", str(tmp_path)]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary == ("2 files (1 fragments, 0 unreadable); 0 errors in 0 files; "
                       "0 warnings in 0 files")


def test_a_folder_lint_lists_unreadable_files_and_exits_2(tmp_path, capsys):
    write(tmp_path, base_config(), "good.yml")
    (tmp_path / "empty.yml").write_text("")
    assert cli.main(["lint", str(tmp_path), "--format", "json"]) == 2
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["files"] == 2
    assert [u["config"] for u in document["unreadable"]] == [str(tmp_path / "empty.yml")]
    assert "is empty" in document["unreadable"][0]["error"]


def test_a_tool_never_takes_its_config_for_a_fragment(tmp_path):
    from argparse import Namespace

    from paddleseg_imbalance.engine.config import ConfigError
    from paddleseg_imbalance.engine.config_lint import lint_before_run

    config = base_config()
    del config["model"]
    path = write(tmp_path, config)
    with pytest.raises(ConfigError, match="`model` is missing"):
        lint_before_run(Namespace(config=path, opts=None, iters=None, batch_size=None))


# --- PaddleX 3 ----------------------------------------------------------------------------

def paddlex_dataset(demo, tmp_path, change=None, suffix=".png", num_classes=2):
    """The binary demo set in PaddleX's layout (images/, annotations/, train.txt, val.txt),
    labels rewritten by `change(array)`, and the PaddleX config pointing at it."""
    root = tmp_path / "seg_demo"
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    for split in ("train", "val"):
        lines = []
        for line in (demo / "binary" / f"{split}.txt").read_text().split():
            if not line.startswith("images/"):
                continue
            name = os.path.splitext(os.path.basename(line))[0]
            (root / line).write_bytes((demo / "binary" / line).read_bytes())
            array = np.asarray(Image.open(demo / "binary" / "labels" / f"{name}.png"))
            label = f"annotations/{name}{suffix}"
            Image.fromarray(change(array) if change else array).save(root / label)
            lines.append(f"{line} {label}")
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    with open(PADDLEX_CONFIG) as file:
        config = yaml.safe_load(file)
    config["Global"]["dataset_dir"] = str(root)
    config["Train"]["num_classes"] = num_classes
    return write(tmp_path, config, "PP-LiteSeg-T.yaml")


def scan(path):
    return lint(path, scan_data=True, workers=1, progress=False)


def test_a_paddlex_config_with_good_data_is_clean(demo_root, tmp_path):
    path = paddlex_dataset(demo_root, tmp_path)
    assert lint(path).findings == [] and lint(path).paddlex
    report = scan(path)
    assert report.findings == [], report.text()
    assert "PaddleX 3" in report.text()


def test_paddlex_num_classes_1_and_labels_above_it(demo_root, tmp_path):
    report = scan(paddlex_dataset(demo_root, tmp_path, num_classes=1))
    assert {"PSI101", "PSI004"} <= {f.code for f in report.findings}
    finding = next(f for f in report.findings if f.code == "PSI101")
    assert finding.key == "Train.num_classes" and "set num_classes: 2 in Train" in finding.fix
    assert report.exit_code() == 1


@pytest.mark.parametrize("change,suffix,code", [
    (lambda a: (a * 255).astype(np.uint8), ".png", "PSI102"),
    (None, ".jpg", "PSI104"),
    (lambda a: np.stack([a * 128, a * 0, a * 0], -1).astype(np.uint8), ".png", "PSI103"),
], ids=["0-255", "jpeg", "colour"])
def test_paddlex_data_rules(demo_root, tmp_path, change, suffix, code):
    report = scan(paddlex_dataset(demo_root, tmp_path, change, suffix))
    assert code in {f.code for f in report.findings}, report.text()


def test_stats_reads_a_paddlex_config(demo_root, tmp_path):
    inputs = inputs_from_config(paddlex_dataset(demo_root, tmp_path), "train_dataset")
    assert inputs.num_classes == 2 and len(inputs.pairs) == 8
    with pytest.raises(LintInputError):
        inputs_from_config(str(tmp_path / "absent.yaml"))
