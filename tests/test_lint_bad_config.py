"""Bad configs are refused before training, by the lint and by every tool's config loading.

Each case is a config a user could write by mistake (or on purpose): an empty or
tab-indented YAML, a broken `_base_` chain, an alias bomb, num_classes that is not a
positive integer, class names that do not fit, loss weights or coefficients that are not
finite non-negative numbers. The lint must report it (or refuse to read the file, exit
2), and the tools must stop with exit code 2 and a message naming the file or key.
"""
import copy
import math
import os
import subprocess
import sys
import time

import pytest
import yaml

from paddleseg_imbalance.engine.config import ConfigError, load_config
from paddleseg_imbalance.engine.train import main as train_main
from paddleseg_imbalance.lint import LintInputError, lint
from paddleseg_imbalance.config.resolve import resolve_config
from tests.helpers import REPO, base_config, run_tool, tiny_config

BASE = base_config(root="data")


def write_text(directory, text, name="config.yml"):
    path = os.path.join(str(directory), name)
    with open(path, "w") as file:
        file.write(text)
    return path


def write_config(directory, config, name="config.yml"):
    return write_text(directory, yaml.safe_dump(config), name)


def findings(tmp_path, config, code):
    report = lint(write_config(tmp_path, config))
    return [f for f in report.findings if f.code == code], report


def with_loss(types, coef=(1, 1, 1)):
    config = copy.deepcopy(BASE)
    config["loss"] = {"types": types, "coef": list(coef)}
    return config


# --- config files that cannot be read (item 13) ------------------------------------------

def _unreadable_configs(directory):
    """{case: (config path, the file the error must name, text the error must hold)}."""
    empty = write_text(directory, "", "empty.yml")
    comments = write_text(directory, "# nothing but a comment\n", "comments.yml")
    tabs = write_text(directory, "batch_size: 2\nmodel:\n\ttype: PPLiteSeg\n", "tabs.yml")
    write_text(directory, "_base_: cycle_b.yml\niters: 1\n", "cycle_a.yml")
    cycle = write_text(directory, "_base_: cycle_a.yml\nbatch_size: 2\n", "cycle_b.yml")
    missing = write_text(directory, "_base_: ../nowhere/base.yml\nbatch_size: 2\n",
                         "missing_base.yml")
    broken_base = write_text(directory, "_base_: tabs.yml\nbatch_size: 2\n", "tab_base.yml")
    latin1 = os.path.join(str(directory), "latin1.yml")
    with open(latin1, "wb") as file:
        file.write("model: {type: caf\u00e9}\n".encode("latin-1"))
    return {
        "empty": (empty, empty, "empty"),
        "comments-only": (comments, comments, "empty"),
        "tab-indented": (tabs, tabs, "line 3"),
        "base-cycle": (cycle, "cycle_a.yml", "cycle"),
        "missing-base": (missing, "nowhere/base.yml", "does not exist"),
        "tab-indented-base": (broken_base, tabs, "line 3"),
        "not-utf8": (latin1, latin1, "UTF-8"),
    }


UNREADABLE = ["empty", "comments-only", "tab-indented", "base-cycle", "missing-base",
              "tab-indented-base", "not-utf8"]


@pytest.mark.parametrize("case", UNREADABLE)
def test_lint_refuses_an_unreadable_config_naming_the_file(tmp_path, case):
    path, named, text = _unreadable_configs(tmp_path)[case]
    with pytest.raises(LintInputError) as error:
        lint(path)
    assert named in str(error.value) and text in str(error.value), str(error.value)


@pytest.mark.parametrize("case", UNREADABLE)
def test_load_config_refuses_an_unreadable_config_naming_the_file(tmp_path, case):
    path, named, text = _unreadable_configs(tmp_path)[case]
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert named in str(error.value) and text in str(error.value), str(error.value)


@pytest.mark.parametrize("tool,case", [("val", "empty"), ("predict", "tab-indented"),
                                       ("export", "base-cycle"), ("val", "missing-base")])
def test_tools_exit_2_on_an_unreadable_config(tmp_path, tool, case):
    path, named, text = _unreadable_configs(tmp_path)[case]
    model = write_text(tmp_path, "not a model", "model.pdparams")
    image = write_text(tmp_path, "not an image", "image.png")
    extra = {"val": ["--model_path", model], "export": ["--save_dir", tmp_path / "out"],
             "predict": ["--model_path", model, "--image_path", image,
                         "--save_dir", tmp_path / "out"]}[tool]
    result = run_tool(tool, "--config", path, "--device", "cpu", *extra, timeout=120)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert named in result.stderr and text in result.stderr, result.stderr[-3000:]


# --- alias bombs (item 15) ---------------------------------------------------------------

def alias_bomb(config=BASE, levels=9, width=9):
    """`config` as YAML, followed by a "billion laughs": `levels` lists of `width` aliases
    of the list before."""
    lines = [yaml.safe_dump(config).strip(), "lol0: &lol0 [lol]"]
    for level in range(1, levels + 1):
        aliases = ", ".join([f"*lol{level - 1}"] * width)
        lines.append(f"lol{level}: &lol{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def test_lint_refuses_an_alias_bomb_quickly(tmp_path):
    path = write_text(tmp_path, alias_bomb())
    start = time.monotonic()
    with pytest.raises(LintInputError) as error:
        lint(path)
    assert time.monotonic() - start < 5
    assert path in str(error.value) and "alias" in str(error.value)


def test_lint_command_exits_2_on_an_alias_bomb(tmp_path):
    path = write_text(tmp_path, alias_bomb())
    result = subprocess.run([sys.executable, os.path.join(REPO, "paddleseg_imbalance_launcher.py"),
                             "lint", path], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert path in result.stderr and "alias" in result.stderr
    assert "no problems found" not in result.stdout


def test_a_merge_key_bomb_is_refused_too(tmp_path):
    lines = ["m0: &m0 {a: 1, b: 2, c: 3}"]
    lines += [f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 9)}]}}" for i in range(1, 10)]
    path = write_text(tmp_path, "\n".join(lines) + "\n")
    start = time.monotonic()
    with pytest.raises(LintInputError):
        lint(path)
    assert time.monotonic() - start < 5


def test_a_recursive_alias_is_refused(tmp_path):
    path = write_text(tmp_path, "batch_size: 2\nloop: &loop [1, *loop]\n")
    with pytest.raises(LintInputError) as error:
        lint(path)
    assert "loop" in str(error.value) and path in str(error.value)


def test_deep_nesting_is_refused(tmp_path):
    path = write_text(tmp_path, "batch_size: 2\ndeep: " + "[" * 500 + "]" * 500 + "\n")
    with pytest.raises(LintInputError) as error:
        lint(path)
    assert "nest" in str(error.value) and path in str(error.value)


def test_ordinary_aliases_still_load(tmp_path):
    text = ("batch_size: 2\nt: &norm {type: Normalize}\n"
            "train_dataset: {transforms: [*norm, *norm]}\n")
    data = resolve_config(write_text(tmp_path, text)).data
    assert data["train_dataset"]["transforms"] == [{"type": "Normalize"}] * 2


def test_load_config_refuses_an_alias_bomb_before_paddleseg_reads_it(tmp_path):
    path = write_text(tmp_path, alias_bomb())
    start = time.monotonic()
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert time.monotonic() - start < 5 and path in str(error.value)


def test_train_exits_2_on_an_alias_bomb(demo_root, tmp_path):
    with open(tiny_config(demo_root, tmp_path)) as file:
        path = write_text(tmp_path, alias_bomb(yaml.safe_load(file)), "bomb.yml")
    result = run_tool("train", "--config", path, "--device", "cpu", "--no_lint",
                      "--save_dir", tmp_path / "out", timeout=60)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "alias" in result.stderr and "Traceback" not in result.stderr


# --- num_classes and class_names (items 12, 14, 16) -----------------------------------------

@pytest.mark.parametrize("value", [0, -1, "two", 1.5, True])
@pytest.mark.parametrize("key", ["model", "train_dataset"])
def test_num_classes_that_is_not_a_positive_integer_is_an_error_at_its_key(tmp_path, key,
                                                                           value):
    config = copy.deepcopy(BASE)
    config[key]["num_classes"] = value
    found, report = findings(tmp_path, config, "PSI008")
    assert [f.key for f in found] == [f"{key}.num_classes"], report.text()
    assert "positive integer" in found[0].message and repr(value) in found[0].message
    assert not [f for f in report.findings if f.code in ("PSI001", "PSI002")], report.text()


@pytest.mark.parametrize("names", [["background"], ["bg", "fg", "extra"], "background"])
def test_class_names_that_do_not_fit_num_classes_are_an_error(tmp_path, names):
    config = dict(copy.deepcopy(BASE), class_names=names)
    found, report = findings(tmp_path, config, "PSI009")
    assert [f.key for f in found] == ["class_names"], report.text()
    assert "2" in found[0].message and "num_classes" in found[0].fix
    config["class_names"] = ["background", "foreground"]
    assert not findings(tmp_path, config, "PSI009")[0]


def test_train_stops_on_class_names_before_the_first_iteration(demo_root, tmp_path):
    path = tiny_config(demo_root, tmp_path, class_names=["only_one"])
    save_dir = tmp_path / "out"
    with pytest.raises(ConfigError) as error:
        train_main(["--config", path, "--device", "cpu", "--save_dir", str(save_dir)])
    assert "PSI009" in str(error.value) and "class_names" in str(error.value)


@pytest.mark.parametrize("val_index", [255, 7])
def test_ignore_index_fix_never_suggests_a_class(tmp_path, val_index):
    config = copy.deepcopy(BASE)
    config["train_dataset"]["ignore_index"] = 1
    config["val_dataset"]["ignore_index"] = val_index
    found, report = findings(tmp_path, config, "PSI005")
    assert found, report.text()
    for finding in found:
        assert f"ignore_index: {val_index}" in finding.fix, finding.fix
        assert "ignore_index: 1" not in finding.fix


def test_loss_ignore_index_fix_never_suggests_a_class(tmp_path):
    config = with_loss([{"type": "CrossEntropyLoss", "ignore_index": 255}])
    config["train_dataset"]["ignore_index"] = config["val_dataset"]["ignore_index"] = 1
    found, report = findings(tmp_path, config, "PSI005")
    assert found and all("set it to 1" not in f.fix and "255" in f.fix for f in found), \
        report.text()


# --- loss weights and coefficients (items 8, 14) -------------------------------------------

BAD_WEIGHTS = [[1, -5], [0, 0], [1, math.nan], [1, math.inf], [1, "x"], 5, [1, None],
               [1, True]]


@pytest.mark.parametrize("weight", BAD_WEIGHTS, ids=repr)
def test_a_bad_class_weight_is_an_error(tmp_path, weight):
    config = with_loss([{"type": "CrossEntropyLoss", "weight": weight}])
    found, report = findings(tmp_path, config, "PSI013")
    assert [f.key for f in found] == ["loss.types[0].weight"], report.text()
    assert "non-negative" in found[0].message and "auto" in found[0].fix


@pytest.mark.parametrize("weight", [[0, 1], [0.5, 2.0], "auto", "batch"], ids=repr)
def test_good_class_weights_are_clean(tmp_path, weight):
    config = with_loss([{"type": "CrossEntropyLoss", "weight": weight}])
    assert not findings(tmp_path, config, "PSI013")[0]


def test_the_loss_owns_its_other_weight_keywords(tmp_path):
    config = with_loss([{"type": "BCELoss", "weight": "dynamic"}])
    assert not findings(tmp_path, config, "PSI013")[0]


def test_bad_weights_nested_in_mixed_and_ramped_losses_are_found(tmp_path):
    ce = {"type": "CrossEntropyLoss", "weight": [1, -5]}
    mixed = {"type": "MixedLoss", "losses": [{"type": "DiceLoss"}, ce], "coef": [1, 1]}
    ramped = {"type": "RampedLoss", "loss": dict(ce, weight=[1, math.nan]), "start": 0,
              "end": 1}
    config = with_loss([mixed, ramped, {"type": "CrossEntropyLoss"}])
    found, report = findings(tmp_path, config, "PSI013")
    assert sorted(f.key for f in found) == ["loss.types[0].losses[1].weight",
                                            "loss.types[1].loss.weight"], report.text()


@pytest.mark.parametrize("coef", [[1, "a", 1], [1, -1, 1], [1, math.nan, 1], [1, math.inf, 1],
                                  [0, 0, 0]], ids=repr)
def test_a_bad_coef_is_an_error(tmp_path, coef):
    found, report = findings(tmp_path, with_loss([{"type": "CrossEntropyLoss"}], coef), "PSI014")
    assert [f.key for f in found] == ["loss.coef"], report.text()
    assert "non-negative" in found[0].message


def test_a_bad_coef_of_a_mixed_loss_is_an_error(tmp_path):
    mixed = {"type": "MixedLoss", "losses": [{"type": "DiceLoss"}, {"type": "DiceLoss"}],
             "coef": [1, -2]}
    found, report = findings(tmp_path, with_loss([mixed]), "PSI014")
    assert [f.key for f in found] == ["loss.types[0].coef"], report.text()


def test_coef_zero_for_an_auxiliary_head_is_clean(tmp_path):
    assert not findings(tmp_path, with_loss([{"type": "CrossEntropyLoss"}], [1, 0, 0]),
                        "PSI014")[0]


def test_train_exits_2_on_a_nan_class_weight(demo_root, tmp_path):
    path = tiny_config(demo_root, tmp_path, loss={"type": "CrossEntropyLoss",
                                                  "weight": [1, math.nan]})
    result = run_tool("train", "--config", path, "--device", "cpu", "--iters", "1",
                      "--save_dir", tmp_path / "out", timeout=120)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "PSI013" in result.stderr and "weight" in result.stderr


@pytest.mark.parametrize("start,end", [(math.nan, 1), (0, -1)])
def test_a_bad_ramp_coefficient_is_an_error(tmp_path, start, end):
    ramped = {"type": "RampedLoss", "loss": {"type": "LovaszSoftmaxLoss"}, "start": start,
              "end": end}
    found, report = findings(tmp_path, with_loss([ramped]), "PSI014")
    assert len(found) == 1 and found[0].key in ("loss.types[0].start", "loss.types[0].end"), \
        report.text()


def test_learning_rate_flag_without_an_lr_scheduler_is_a_config_error(tmp_path):
    config = copy.deepcopy(BASE)
    del config["lr_scheduler"]
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, config), learning_rate=0.1)
    assert "lr_scheduler" in str(error.value) and "--learning_rate" in str(error.value)
