"""The tools' flags, model loading and config loading under bad input: exit code 2 and
one message naming the flag, file or YAML key, before anything runs (issue 18)."""
import os

import paddle
import pytest
import yaml

from paddleseg_imbalance.engine import export, predict, train, val
from paddleseg_imbalance.engine.args import (export_parser, predict_parser, train_parser,
                                             val_parser)
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.entry import run_tool as run_in_process
from paddleseg_imbalance.engine.model_loading import load_model_weights
from paddleseg_imbalance.engine.session import Session, set_device
from tests.helpers import run_tool, tiny_config

PARSERS = {"train": train_parser, "val": val_parser, "predict": predict_parser,
           "export": export_parser}
REQUIRED = {"train": [], "val": ["--model_path", "m.pdparams"],
            "predict": ["--model_path", "m.pdparams", "--image_path", "images"],
            "export": []}
MAINS = {"train": train.main, "val": val.main, "predict": predict.main,
         "export": export.main}


def assert_bad_input(result, *fragments):
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr[-2000:]


def exit_in_process(main, argv, capsys):
    """(exit code, stderr) of `main(argv)` run as the tools run it."""
    with pytest.raises(SystemExit) as stopped:
        run_in_process(main, argv)
    return stopped.value.code, capsys.readouterr().err


@pytest.fixture(scope="module")
def config(demo_root, tmp_path_factory):
    return tiny_config(demo_root, tmp_path_factory.mktemp("flags"))


@pytest.fixture(scope="module")
def saved_model(config, tmp_path_factory):
    """model.pdparams of the tiny config's (untrained) model, and a model.pdopt beside it."""
    directory = tmp_path_factory.mktemp("model")
    model = Session(val_parser().parse_args(["--config", config, "--device", "cpu",
                                             "--model_path", "unused"])).model
    paddle.save(model.state_dict(), str(directory / "model.pdparams"))
    paddle.save({"LR_Scheduler": {"last_epoch": 3}, "conv_w_0_moment1_0": paddle.zeros([2])},
                str(directory / "model.pdopt"))
    return directory


def write_config(config, directory, name, change):
    with open(config) as file:
        dic = yaml.safe_load(file)
    change(dic)
    path = os.path.join(str(directory), name)
    with open(path, "w") as file:
        yaml.safe_dump(dic, file)
    return path


@pytest.mark.parametrize("tool, flag, value", [
    ("train", "--save_interval", "0"),
    ("train", "--log_iters", "0"),
    ("train", "--num_workers", "-1"),
    ("val", "--num_workers", "-1"),
    ("train", "--iters", "-1"),
    ("train", "--iters", "0"),
    ("train", "--batch_size", "0"),
    ("train", "--learning_rate", "nan"),
    ("train", "--learning_rate", "inf"),
    ("train", "--learning_rate", "-0.01"),
    ("train", "--keep_checkpoint_max", "-1"),
    ("train", "--keep_checkpoint_max", "two"),
    ("train", "--seed", "-1"),
    ("train", "--threshold", "1.5"),
    ("val", "--threshold", "0"),
    ("predict", "--threshold", "1"),
    ("export", "--threshold", "nan"),
    ("val", "--save_errors", "-2"),
    ("val", "--scales", "0"),
    ("predict", "--custom_color", "300"),
])
def test_out_of_range_flag_is_a_usage_error_naming_the_flag(tool, flag, value, capsys):
    with pytest.raises(SystemExit) as stopped:
        PARSERS[tool]().parse_args(["--config", "c.yml", *REQUIRED[tool], flag, value])
    assert stopped.value.code == 2
    assert f"argument {flag}: " in capsys.readouterr().err


def test_iters_zero_says_how_to_use_the_configs_iters(capsys):
    with pytest.raises(SystemExit):
        train_parser().parse_args(["--config", "c.yml", "--iters", "0"])
    assert "leave --iters out" in capsys.readouterr().err


@pytest.mark.parametrize("shape", [["1", "0", "64", "64"], ["-5", "3", "64", "64"],
                                   ["1", "3", "-2", "64"]])
def test_export_input_shape_takes_sizes_or_minus_one(shape, capsys):
    with pytest.raises(SystemExit) as stopped:
        export_parser().parse_args(["--config", "c.yml", "--input_shape", *shape])
    assert stopped.value.code == 2
    assert "argument --input_shape" in capsys.readouterr().err
    parsed = export_parser().parse_args(["--config", "c.yml", "--input_shape", "-1", "3",
                                         "-1", "64"])
    assert parsed.input_shape == [-1, 3, -1, 64]


def test_export_input_shape_channels_must_be_the_models(config, tmp_path, capsys):
    code, err = exit_in_process(export.main, ["--config", config, "--input_shape", "1", "1",
                                              "64", "64", "--save_dir", str(tmp_path)],
                                capsys)
    assert code == 2
    assert "--input_shape 1 1 64 64" in err and "3 channels" in err
    assert not os.listdir(tmp_path)


def test_help_still_works(capsys):
    for parser in PARSERS.values():
        with pytest.raises(SystemExit) as stopped:
            parser().parse_args(["--help"])
        assert stopped.value.code == 0
    assert "--save_interval" in capsys.readouterr().out


def test_val_refuses_optimizer_state_end_to_end(config, saved_model):
    result = run_tool("val", "--config", config, "--device", "cpu",
                      "--model_path", saved_model / "model.pdopt", timeout=120)
    assert_bad_input(result, "model.pdopt", "only 0 of its", "not in the file",
                     "pass model.pdparams")
    assert not (saved_model / "eval").exists()


def test_model_of_another_num_classes_is_refused_naming_the_shapes(config, saved_model,
                                                                   tmp_path):
    def three_classes(dic):
        for section in ("model", "train_dataset", "val_dataset"):
            dic[section]["num_classes"] = 3

    three = write_config(config, tmp_path, "three.yml", three_classes)
    model = Session(val_parser().parse_args(["--config", three, "--device", "cpu",
                                             "--model_path", "unused"])).model
    with pytest.raises(ConfigError) as refused:
        load_model_weights(model, str(saved_model / "model.pdparams"))
    message = str(refused.value)
    assert "model.pdparams" in message and "3 with another shape" in message
    assert "conv_out.weight: in the file [2, 32, 1, 1], in the model [3, 32, 1, 1]" in message
    assert "`num_classes`" in message


def test_a_model_that_fits_loads_every_parameter(config, saved_model):
    session = Session(val_parser().parse_args(["--config", config, "--device", "cpu",
                                               "--model_path", "unused"]))
    model = session.load_weights(str(saved_model / "model.pdparams"))
    saved = paddle.load(str(saved_model / "model.pdparams"))
    name, value = next(iter(model.state_dict().items()))
    assert (value.numpy() == saved[name].numpy()).all()


@pytest.mark.parametrize("content", [b"", b"not a pickle", "truncated"])
def test_corrupt_model_file_is_named(config, saved_model, tmp_path, content, capsys):
    path = tmp_path / "model.pdparams"
    if content == "truncated":
        content = (saved_model / "model.pdparams").read_bytes()[:2000]
    path.write_bytes(content)
    code, err = exit_in_process(val.main, ["--config", config, "--device", "cpu",
                                           "--model_path", str(path)], capsys)
    assert code == 2
    assert str(path) in err and "cannot be read as Paddle parameters" in err


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n not really"])
def test_predict_names_an_undecodable_image(config, saved_model, tmp_path, content):
    image = tmp_path / "broken.png"
    image.write_bytes(content)
    result = run_tool("predict", "--config", config, "--device", "cpu",
                      "--model_path", saved_model / "model.pdparams", "--image_path", image,
                      "--save_dir", tmp_path / "out", timeout=120)
    assert_bad_input(result, "broken.png", "--image_path")
    assert not (tmp_path / "out").exists()


def test_invalid_loss_argument_is_a_config_error_naming_the_entry(config, tmp_path):
    def tversky(dic):
        dic["loss"]["types"][1] = {"type": "TverskyLoss", "alpha": -1}

    path = write_config(config, tmp_path, "tversky.yml", tversky)
    result = run_tool("train", "--config", path, "--device", "cpu", "--no_lint",
                      "--save_dir", tmp_path / "out", timeout=120)
    assert_bad_input(result, "`loss.types[1]` (TverskyLoss)", "alpha")


@pytest.mark.parametrize("entry, fragments", [
    ({"type": "RampedLoss", "loss": {"type": "CrossEntropyLoss"}, "start": float("nan"),
      "end": 1.0}, ["`loss.types[0]` (RampedLoss)"]),
    ({"type": "CrossEntropyLoss", "no_such_argument": 1}, ["`loss.types[0]`",
                                                            "no_such_argument"]),
    ({"type": "NoSuchLoss"}, ["'NoSuchLoss'", "not registered"]),
])
def test_component_construction_errors_are_config_errors(config, tmp_path, entry,
                                                         fragments):
    def replace_loss(dic):
        dic["loss"]["types"][0] = entry

    path = write_config(config, tmp_path, "loss.yml", replace_loss)
    session = Session(train_parser().parse_args(["--config", path, "--device", "cpu"]))
    with pytest.raises(ConfigError) as refused:
        session.builder.loss
    for fragment in fragments:
        assert fragment in str(refused.value)


def test_best_metric_of_an_unknown_class_stops_before_training(config, tmp_path, capsys):
    def named(dic):
        dic["class_names"] = ["background", "road"]

    path = write_config(config, tmp_path, "named.yml", named)
    code, err = exit_in_process(train.main, ["--config", path, "--device", "cpu",
                                             "--do_eval", "--best_metric", "iou/roads",
                                             "--save_dir", str(tmp_path / "out")], capsys)
    assert code == 2
    assert "--best_metric iou/roads" in err and "background, road" in err
    assert not (tmp_path / "out" / "iter_1").exists()


@pytest.mark.parametrize("name", ["iou/road", "iou/1", "dice/background", "miou"])
def test_best_metric_of_a_known_class_passes(config, tmp_path, name):
    from paddleseg_imbalance.engine.best_metric_class import check_best_metric_class

    def named(dic):
        dic["class_names"] = ["background", "road"]

    path = write_config(config, tmp_path, "named.yml", named)
    session = Session(train_parser().parse_args(["--config", path, "--device", "cpu"]))
    check_best_metric_class(name, session.config)
    with pytest.raises(ConfigError):
        check_best_metric_class("iou/2", session.config)


def _empty(directory):
    (directory / "c.yml").write_text("")


def _tabs(directory):
    (directory / "c.yml").write_text("batch_size: 2\n\titers: 3\n")


def _cycle(directory):
    (directory / "c.yml").write_text("_base_: d.yml\n")
    (directory / "d.yml").write_text("_base_: c.yml\n")


def _missing_base(directory):
    (directory / "c.yml").write_text("_base_: nowhere.yml\nbatch_size: 2\n")


@pytest.mark.parametrize("tool", ["train", "val", "predict", "export"])
@pytest.mark.parametrize("write", [_empty, _tabs, _cycle, _missing_base])
def test_every_tool_refuses_an_unreadable_config_naming_the_file(tool, write, tmp_path,
                                                                 saved_model, capsys):
    write(tmp_path)
    argv = ["--config", str(tmp_path / "c.yml"), "--device", "cpu"]
    if tool in ("val", "predict"):
        argv += ["--model_path", str(saved_model / "model.pdparams")]
    if tool == "predict":
        argv += ["--image_path", str(tmp_path)]
    if tool == "train":
        argv += ["--save_dir", str(tmp_path / "out")]
    code, err = exit_in_process(MAINS[tool], argv, capsys)
    assert code == 2
    assert "c.yml" in err or "nowhere.yml" in err
    assert not (tmp_path / "out").exists()


def test_device_fallback_is_a_warning_saying_why(capsys):
    if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0:
        pytest.skip("a GPU is available: no fallback to check")
    set_device("gpu")
    out = capsys.readouterr()
    assert "WARNING" in out.out + out.err and "--device gpu" in out.out + out.err
    assert "running on cpu" in out.out + out.err
    assert paddle.device.get_device() == "cpu"
