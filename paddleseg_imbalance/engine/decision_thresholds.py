"""The decision rule predict and export apply: argmax, or a foreground threshold.

A binary model (2 classes) is foreground where softmax[1] > t, a multi-label model has
label c where sigmoid(logit_c) > t_c. The thresholds come from `--threshold T` (one
number), or from `--thresholds PATH`, the thresholds.json `val.py --sweep_thresholds`
writes; a single-label model with more than 2 classes is decided by argmax only.
`decision_threshold_hook` applies them to a model's logits, so that the plain decision
(argmax, or sigmoid > 0.5) of the hooked model is the thresholded one: val.py scores and
predict.py draws a tuned threshold that way.
"""
import json
import math

import paddle

from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.multilabel_channels import auxiliary_channels
from paddleseg_imbalance.evaluation.threshold_sweep import (BINARY_KIND, MULTILABEL_KIND,
                                                            scored_channels)

_SWEEP_FIX = ("write it with `tools/val.py --config CONFIG --model_path MODEL "
              "--sweep_thresholds` (it goes to <save_dir>/eval/thresholds.json)")


DEFAULT_THRESHOLD = 0.5


def checked_threshold(threshold):
    """`--threshold` if it is a probability strictly between 0 and 1 (None: the default
    0.5), else `ConfigError`."""
    if threshold is None:
        return DEFAULT_THRESHOLD
    if not 0 < threshold < 1:
        raise ConfigError(f"--threshold {threshold}: a pixel is positive where "
                          "sigmoid(logit) > threshold; give a probability in (0, 1), "
                          "default 0.5.")
    return float(threshold)


def output_channels(config):
    """The model's output channels: the val dataset's `num_classes`, else the model's."""
    return config.val_dataset_cfg.get("num_classes", config.model_cfg.get("num_classes"))


def decision_thresholds(args, config, multilabel):
    """The thresholds of `args.thresholds` / `args.threshold`, one per decided channel
    (binary: channel 1; multi-label: each label channel), or None for argmax (a
    single-label model given neither).

    Raises:
        ConfigError: both flags given; a threshold for a single-label model of more than 2
            classes; a thresholds file that cannot be read, lacks its keys, or was written
            for another kind of model or another number of classes or labels.
    """
    path, threshold = getattr(args, "thresholds", None), args.threshold
    if path is not None and threshold is not None:
        raise ConfigError("--threshold and --thresholds both given: give one (--thresholds "
                          "PATH for the tuned thresholds.json, --threshold T for one number).")
    num_classes = output_channels(config)
    if not multilabel and (path is not None or threshold is not None) and num_classes != 2:
        flag = "--thresholds" if path is not None else "--threshold"
        raise ConfigError(f"{flag}: the config's model has num_classes {num_classes}, decided "
                          "by argmax; a foreground threshold (and the threshold sweep) is "
                          "only for binary (num_classes 2) and multi-label models: leave "
                          f"{flag} out.")
    channels = scored_channels(num_classes, multilabel, auxiliary_channels(config))
    if path is not None:
        return read_thresholds(path, num_classes, channels, multilabel)
    if threshold is None and not multilabel:
        return None
    return [checked_threshold(threshold)] * len(channels)


def _load(path):
    try:
        with open(path) as file:
            return json.load(file)
    except OSError as error:
        raise ConfigError(f"--thresholds '{path}' cannot be read ({error.strerror}); "
                          f"{_SWEEP_FIX}.") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"--thresholds '{path}' is not valid JSON ({error}); give the "
                          f"thresholds.json that val.py writes: {_SWEEP_FIX}.") from error


def read_thresholds(path, num_classes, channels, multilabel):
    """The threshold of each of `channels` from the thresholds.json at `path`, checked
    against a `num_classes`-channel binary or multi-label model (`ConfigError`)."""
    content = _load(path)
    try:
        kind, found_classes = content["kind"], content["num_classes"]
        entries = {int(entry["channel"]): entry["threshold"] for entry in content["classes"]}
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"--thresholds '{path}' lacks the keys val.py writes (`kind`, "
                          "`num_classes`, `classes` with `channel` and `threshold` each; "
                          f"missing or malformed: {error}); {_SWEEP_FIX}.") from error
    expected_kind = MULTILABEL_KIND if multilabel else BINARY_KIND
    if kind != expected_kind or found_classes != num_classes:
        raise ConfigError(f"--thresholds '{path}' was written for a {kind} model with "
                          f"num_classes {found_classes}, but the config's model is "
                          f"{expected_kind} with num_classes {num_classes}: sweep the "
                          f"thresholds of this model, {_SWEEP_FIX}.")
    if sorted(entries) != sorted(channels):
        raise ConfigError(f"--thresholds '{path}' holds the thresholds of channels "
                          f"{sorted(entries)}, but this model decides channels {channels}; "
                          f"{_SWEEP_FIX}.")
    for channel, value in entries.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or not 0 < value < 1:
            raise ConfigError(f"--thresholds '{path}': `classes` entry of channel {channel} "
                              f"has threshold {value!r}; a threshold is a probability in "
                              "(0, 1): fix the value or sweep again.")
    return [float(entries[channel]) for channel in channels]


def _logit(probability):
    return math.log(probability / (1 - probability))


def decision_threshold_hook(thresholds, num_classes, channels, multilabel):
    """A forward post-hook that moves each decided channel's threshold to the plain rule.

    Binary (2-class softmax): softmax[1] > t exactly where logit1 - logit0 > log(t/(1-t)),
    so log(t/(1-t)) is added to the background logit and argmax decides. Multi-label:
    sigmoid(x_c) > t_c exactly where x_c - log(t_c/(1-t_c)) > 0, so that is subtracted
    from each label channel and sigmoid > 0.5 decides. A constant per channel survives
    PaddleSeg's bilinear resizing and sliding-window averaging unchanged (not the
    probability averaging of flip/multi-scale inference).
    """
    offsets = [0.0] * num_classes
    if multilabel:
        for channel, threshold in zip(channels, thresholds):
            offsets[channel] = -_logit(threshold)
    else:
        offsets[0] = _logit(thresholds[0])
    offset = paddle.to_tensor(offsets, dtype="float32").reshape([1, num_classes, 1, 1])

    def shift_logits(layer, inputs, outputs):
        return [outputs[0] + offset.astype(outputs[0].dtype), *outputs[1:]]
    return shift_logits
