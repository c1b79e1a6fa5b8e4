"""Load a trained model's weights (`--model_path`) all together, or refuse.

PaddleSeg's `load_entire_model` skips every parameter that is missing from the file or
has another shape, with a warning: `val.py --model_path model.pdopt` evaluated random
weights ("0/250 variables loaded") and a model trained with another `num_classes` ran
with a random head, both with exit code 0. Here such a file is a `ConfigError` that names
the parameters and the likely cause. `paddle.load` unpickles the file: load only
checkpoints you trust.
"""
import os

import paddle

from paddleseg_imbalance.engine.config import ConfigError

_MAX_LISTED = 5
_TRAINED_MODEL = "output/best_model/model.pdparams"


def check_model_path(model_path):
    """A missing or non-file `--model_path` is a `ConfigError`."""
    if not model_path or not os.path.isfile(model_path):
        raise ConfigError(f"--model_path '{model_path}' is not a file; pass the "
                          "model.pdparams written by training, e.g. "
                          f"{_TRAINED_MODEL}.")


def read_state_dict(model_path):
    """The parameter dict saved in `model_path`; `ConfigError` for a file that is not one
    (empty, truncated, not written by `paddle.save`)."""
    check_model_path(model_path)
    try:
        state = paddle.load(model_path)
    except Exception as error:  # noqa: BLE001  (any failure to read is a bad file)
        raise ConfigError(
            f"--model_path '{model_path}' cannot be read as Paddle parameters "
            f"({type(error).__name__}: {error}); the file is truncated or is not a "
            f"model.pdparams. Pass the model.pdparams written by training, e.g. "
            f"{_TRAINED_MODEL}.") from error
    if not isinstance(state, dict):
        raise ConfigError(f"--model_path '{model_path}' holds a {type(state).__name__}, not a "
                          "dict of parameters; pass the model.pdparams written by training.")
    return state


def _shape(value):
    return list(getattr(value, "shape", ()))


def _likely_cause(model_path, matched, missing, mismatched):
    if model_path.endswith(".pdopt") or not matched:
        return ("it looks like optimizer state (model.pdopt) or another kind of file, not "
                "the model's weights: pass model.pdparams from the same folder")
    if mismatched and not missing:
        return ("the model was trained with another `num_classes` (compare the shapes' "
                "first number) or other layer sizes: use the config it was trained with")
    return ("the model was trained with another `model` section (architecture or "
            "backbone): use the config it was trained with")


def load_model_weights(model, model_path):
    """Load every parameter of `model` from `model_path`, or raise `ConfigError` naming
    the parameters that are missing from the file or have another shape there (the first
    few, with shapes) and the likely cause. Entries of the file the model does not have
    are ignored. Returns `model`."""
    state = read_state_dict(model_path)
    expected = model.state_dict()
    missing = [name for name in expected if name not in state]
    mismatched = [name for name in expected
                  if name in state and _shape(state[name]) != _shape(expected[name])]
    if missing or mismatched:
        matched = len(expected) - len(missing) - len(mismatched)
        listed = [f"  {name}: in the file {_shape(state[name])}, in the model "
                  f"{_shape(expected[name])}" for name in mismatched[:_MAX_LISTED]]
        listed += [f"  {name} {_shape(expected[name])}: not in the file"
                   for name in missing[:_MAX_LISTED]]
        raise ConfigError(
            f"--model_path '{model_path}' does not fit the config's model: only "
            f"{matched} of its {len(expected)} parameters load ({len(mismatched)} with another "
            f"shape, {len(missing)} missing), e.g.\n" + "\n".join(listed) + "\nLikely cause: "
            + _likely_cause(model_path, matched, missing, mismatched) + ".")
    model.set_state_dict(state)
    return model
