"""`weight: auto` and `weight: batch` in a config's loss entries.

Any loss entry with a `weight` argument (this plugin's losses, PaddleSeg's
`CrossEntropyLoss`, `DiceLoss`, ...) may say, instead of a list:

```yaml
loss:
  types:
    - type: CrossEntropyLoss
      weight: auto                  # computed from the train set before training
      weight_method: sqrt_inverse   # inverse (default) | sqrt_inverse |
                                    # median_frequency | effective_number
      weight_beta: 0.9999           # effective_number only (optional)
    - type: WeightedIoULoss
      weight: batch                 # recomputed from each batch's labels
      weight_momentum: 0.9          # exponential smoothing of the batch counts
```

`auto` counts the train set's label pixels once (see `analysis.count_classes`), as the
train transforms' label-value steps leave them (`RemapLabels`; see `label_value_maps`),
writes the list into the entry and logs a table. The counts are cached in
`<save_dir>/class_stats.json`, keyed by the file list, the size and modification time of
every label file, the label-value steps, `num_classes` and `ignore_index`: a second run
reuses them, any change recounts, and an unreadable cache is recounted with a warning.
`batch` builds the loss without weights and installs a forward pre-hook that sets the
loss's `weight` from the labels of the batch it is about to see.

A weight list given by hand must hold finite numbers >= 0, not all 0 (the lint's PSI013
rule, `lint.loss_rules.weight_problem`, checked here too for `--no_lint`); the weights
`auto` computes always are.

In a multi-label config (see `config.sections.is_multilabel`) the weights are per label
channel, from each label's positive and negative pixel counts (`analysis.label_weights`,
which also says what the background channel gets):

```yaml
    - type: BCELoss
      pos_weight: auto              # or batch, or one number per output channel
      weight_method: sqrt_inverse   # inverse (default): negatives / positives
    - type: WeightedIoULoss
      mode: multilabel
      weight: auto                  # or batch: channel weights, background channel 0
```

BCELoss's own `weight` rescales elements, not labels, so `weight: auto` there is an error
that points to `pos_weight`. A list has one entry per output channel, the background
channel first; a list of the wrong length is an error that says which length.
"""
import hashlib
import json
import os
import warnings

import numpy as np
import paddle
from paddleseg.utils import logger
from prettytable import PrettyTable

from paddleseg_imbalance.analysis import (check_weight_options, class_weights, count_classes,
                                          count_label_array)
from paddleseg_imbalance.analysis.class_stats import ClassStats
from paddleseg_imbalance.analysis.class_weights import is_real_number
from paddleseg_imbalance.analysis.label_weights import channel_weights, positive_weights
from paddleseg_imbalance.config.loss_entries import walk_loss_entries
from paddleseg_imbalance.config.resolve import format_key
from paddleseg_imbalance.config.sections import is_multilabel
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.multilabel_channels import auxiliary_channels, label_names
from paddleseg_imbalance.label_value_maps import describe, label_value_maps
from paddleseg_imbalance.lint.loss_rules import WEIGHT_FIX, WEIGHT_RULE, weight_problem

AUTO, BATCH = "auto", "batch"
_OPTIONS = {"weight_method": "inverse", "weight_beta": None, "weight_momentum": 0.9}
STATS_FILE = "class_stats.json"


def _loss_entries(config):
    """(yaml_key, entry) for every loss entry, nested ones included, in build order."""
    for path, entry in walk_loss_entries(config.dic.get("loss", {}).get("types", [])):
        yield format_key(path), entry


def _pop_options(yaml_key, entry):
    """The `weight_*` options of `entry` (removed from it: loss classes do not take them)."""
    options = {key: entry.pop(key, default) for key, default in _OPTIONS.items()}
    weight = entry.get("weight")
    explicit = [key for key in _OPTIONS if options[key] != _OPTIONS[key]]
    # Other strings belong to the loss (BCELoss's `weight: dynamic`); the config lint
    # (PSI012) rejects a string on a loss that takes a per-class list.
    if weight not in (AUTO, BATCH) and entry.get("pos_weight") not in (AUTO, BATCH) \
            and explicit:
        raise ConfigError(f"`{yaml_key}` sets {', '.join(explicit)} without `weight: auto` or "
                          "`weight: batch` (BCELoss in a multi-label config: `pos_weight`); "
                          "remove them or set the weight to auto/batch.")
    try:
        check_weight_options(options["weight_method"], options["weight_beta"])
    except ValueError as error:
        raise ConfigError(f"`{yaml_key}`: {error}") from error
    momentum = options["weight_momentum"]
    if not (is_real_number(momentum) and 0.0 <= momentum < 1.0):
        raise ConfigError(f"`{yaml_key}.weight_momentum` is {momentum!r}; expected a number "
                          "0 <= momentum < 1 (0 uses each batch's counts alone).")
    return options


def _check_explicit_weight(yaml_key, entry):
    """The lint's rule for hand-given weights (PSI013), also under `--no_lint`."""
    problem = weight_problem(entry)
    if problem:
        raise ConfigError(f"`{yaml_key}.weight` {problem}: {WEIGHT_RULE}; {WEIGHT_FIX}.")


def _file_stamp(path):
    """(size, mtime in ns) of `path`; None when it is missing (the count then names it)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def _cache_key(dataset, value_maps, num_labels):
    """Changes with the file list, any label file's size or mtime, and how labels are read."""
    digest = hashlib.sha256()
    for image_path, label_path in dataset.file_list:
        digest.update(f"{image_path}\t{label_path}\t{_file_stamp(label_path)}\n".encode())
    digest.update(f"{dataset.num_classes}/{dataset.ignore_index}/{describe(value_maps)}"
                  .encode())
    if num_labels is not None:
        digest.update(f"/multilabel {num_labels}".encode())
    return digest.hexdigest()


def _read_cache(path):
    """{key: counts} from the cache file at `path`; {} (with a warning) if it is unreadable."""
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as file:
            cache = json.load(file)
        if isinstance(cache, dict):
            return cache
        problem = f"a JSON {type(cache).__name__}, not an object"
    except (OSError, ValueError) as error:  # ValueError: JSONDecodeError, UnicodeDecodeError
        problem = error
    _warn_bad_cache(path, problem)
    return {}


def _warn_bad_cache(path, problem):
    logger.warning(f"Class statistics: the cache {path} cannot be used ({problem}); counting "
                   "the labels again and rewriting it.")


def train_set_stats(dataset, save_dir, num_labels=None):
    """`ClassStats` of the train set's labels as its transforms' label-value steps leave
    them, cached in `save_dir` (see the module docstring for the key); per label channel
    for multi-label data with `num_labels` labels."""
    path = os.path.join(save_dir, STATS_FILE)
    value_maps = label_value_maps(getattr(dataset, "transforms", None))
    key = _cache_key(dataset, value_maps, num_labels)
    cache = _read_cache(path)
    if key in cache:
        try:
            stats = ClassStats.from_json(cache[key])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            _warn_bad_cache(path, f"entry {key[:12]}...: {type(error).__name__}: {error}")
        else:
            logger.info(f"Class statistics: reusing {path} (same label files).")
            return stats
    labels = [label for _, label in dataset.file_list]
    logger.info(f"Class statistics: counting {len(labels)} label files for `weight: auto`.")
    if num_labels is None:
        stats = count_classes(labels, dataset.num_classes, dataset.ignore_index,
                              value_maps=value_maps)
    else:
        stats = count_classes(labels, num_labels, dataset.ignore_index, multilabel=True,
                              value_maps=value_maps)
    os.makedirs(save_dir, exist_ok=True)
    cache[key] = stats.to_json()
    # Every rank computes the same counts; an atomic replace keeps concurrent writers safe.
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as file:
        json.dump(cache, file)
    os.replace(temporary, path)
    return stats


def _log_weights(yaml_key, method, stats, weights):
    table = PrettyTable(["class", "pixels", "share", f"weight ({method})"])
    for c, (pixels, share, weight) in enumerate(zip(stats.pixel_counts, stats.pixel_share,
                                                    weights)):
        table.add_row([c, int(pixels), f"{share:.4%}", f"{weight:.4f}"])
    logger.info(f"`{yaml_key}.weight: auto` resolved to\n{table}")


def resolve_loss_weights(config, dataset, save_dir):
    """Resolve `weight: auto` and `weight: batch` in `config`'s loss entries, in place.

    Must run before the builder builds the losses. `auto` becomes the list of weights
    from `dataset`'s labels; `batch` becomes `null`. Returns {yaml_key: options} of the
    `batch` entries, for `attach_batch_weights` once the losses are built (multi-label:
    {yaml_key: LabelWeightSetting} of every per-label weight, set on the built losses).
    """
    if is_multilabel(config.dic):
        return _resolve_label_weights(config, dataset, save_dir)
    batch_entries = {}
    stats = None
    for yaml_key, entry in _loss_entries(config):
        options = _pop_options(yaml_key, entry)
        _check_explicit_weight(yaml_key, entry)
        if entry.get("pos_weight") in (AUTO, BATCH):
            raise ConfigError(
                f"`{yaml_key}.pos_weight: {entry['pos_weight']}` needs a multi-label config "
                "(a MultiLabelDataset or AddMultiLabelAuxiliaryCategory): it weighs each "
                "label channel's positives. For single-label data set `weight: "
                f"{entry['pos_weight']}` on CrossEntropyLoss (or another per-class loss).")
        if entry.get("weight") == BATCH:
            entry["weight"] = None
            batch_entries[yaml_key] = options
        elif entry.get("weight") == AUTO:
            if getattr(dataset, "file_list", None) is None:
                raise ConfigError(f"`{yaml_key}.weight: auto` counts the label files of the "
                                  f"train set's `file_list`, which {type(dataset).__name__} "
                                  "does not have; give the weights as a list.")
            stats = stats or train_set_stats(dataset, save_dir)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    weights = class_weights(stats, options["weight_method"],
                                            options["weight_beta"])
                except ValueError as error:
                    raise ConfigError(f"`{yaml_key}`: {error}") from error
            for warning in caught:
                logger.warning(f"`{yaml_key}.weight: auto`: {warning.message}")
            entry["weight"] = weights.round(6).tolist()
            _log_weights(yaml_key, options["weight_method"], stats, weights)
    return batch_entries


class BatchClassWeights:
    """Forward pre-hook that sets `loss.weight` from the labels of the coming batch.

    The batch's pixel counts are smoothed exponentially,
    c_t = momentum * c_(t-1) + (1 - momentum) * batch_counts, and turned into weights by
    `analysis.class_weights` (`method`, `beta`). Classes absent so far get the largest
    present weight.
    """

    def __init__(self, num_classes, ignore_index, method, beta, momentum):
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.method, self.beta, self.momentum = method, beta, momentum
        self.smoothed = None

    def __call__(self, layer, inputs):
        labels = inputs[1].numpy()
        batch = count_label_array(labels.reshape(-1, *labels.shape[-2:]), self.num_classes,
                                  self.ignore_index)
        counts = np.stack([batch.pixel_counts, batch.image_pixels]).astype(np.float64)
        if self.smoothed is None:
            self.smoothed = counts
        else:
            self.smoothed = self.momentum * self.smoothed + (1 - self.momentum) * counts
        if not (self.smoothed[0] > 0).any():
            return None  # only ignored pixels so far: keep the previous weights
        stats = ClassStats.empty(self.num_classes)
        stats.pixel_counts, stats.image_pixels = self.smoothed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # absent classes are expected in a batch
            weights = class_weights(stats, self.method, self.beta)
        layer.weight = paddle.to_tensor(weights.astype("float32"))
        return None


def attach_batch_weights(losses, batch_entries, num_classes, ignore_index):
    """Install a `BatchClassWeights` hook on each built loss named in `batch_entries`; for
    a multi-label config, give each its `LabelWeightSetting` (`_resolve_label_weights`)."""
    built = {format_key(path): loss for path, loss in walk_loss_entries(losses["types"])}
    for yaml_key, options in batch_entries.items():
        if isinstance(options, LabelWeightSetting):
            options.apply(built[yaml_key], ignore_index)
            continue
        hook = BatchClassWeights(num_classes, ignore_index, options["weight_method"],
                                 options["weight_beta"], options["weight_momentum"])
        built[yaml_key].register_forward_pre_hook(hook)


# --- multi-label configs: weights per label channel ------------------------------------

BCE = "BCELoss"
MULTILABEL_MODE = "multilabel"


class _Channels:
    """The output channels of a multi-label config: background channel(s), then labels."""

    def __init__(self, config, dataset):
        self.num_channels = dataset.num_classes
        self.num_auxiliary = len(auxiliary_channels(config))
        self.num_labels = self.num_channels - self.num_auxiliary
        self.label_names = label_names(config, self.num_labels)
        self.names = ["background"] * self.num_auxiliary + self.label_names

    def check_list(self, yaml_key, values):
        """`ConfigError` unless `values` is one finite number >= 0 per output channel."""
        problem = weight_problem({"weight": values})
        if problem:
            raise ConfigError(f"`{yaml_key}` {problem}: {WEIGHT_RULE}; give one number "
                              f"per output channel ({', '.join(self.names)}), or `auto`.")
        if len(values) == self.num_channels:
            return
        channels = (f"{self.num_channels} output channels ({', '.join(self.names)})")
        if self.num_auxiliary and len(values) == self.num_labels:
            fix = ("it has one per label but none for the background channel that "
                   "AddMultiLabelAuxiliaryCategory adds: put the background channel's "
                   f"weight first, e.g. {[1.0] + list(values)}")
        else:
            fix = (f"give {self.num_channels} numbers, "
                   + ("the background channel's first, then " if self.num_auxiliary else "")
                   + f"one per label ({', '.join(self.label_names)}), or `auto`")
        raise ConfigError(f"`{yaml_key}` has {len(values)} entries but the model has "
                          f"{channels}; {fix}.")


class LabelWeightSetting:
    """What a multi-label loss gets once built: fixed weights (a list) or `batch` weights
    (a `BatchLabelWeights` hook) in its attribute `attribute` (`pos_weight` of BCELoss,
    `weight` of a `mode: multilabel` loss)."""

    def __init__(self, attribute, weights, channels, options):
        self.attribute, self.weights = attribute, weights
        self.channels, self.options = channels, options

    def apply(self, loss, ignore_index):
        if self.weights != BATCH:
            setattr(loss, self.attribute, _channel_tensor(self.attribute, self.weights))
            return
        loss.register_forward_pre_hook(BatchLabelWeights(
            self.attribute, self.channels, ignore_index, self.options["weight_method"],
            self.options["weight_beta"], self.options["weight_momentum"]))


def _channel_tensor(attribute, weights):
    """Weights as the loss reads them: BCELoss's `pos_weight` broadcasts against (N, C,
    H, W) logits, so (C, 1, 1); the plugin's losses take a (C,) `weight`."""
    array = np.asarray(weights, np.float32)
    return paddle.to_tensor(array.reshape(-1, 1, 1) if attribute == "pos_weight" else array)


def _label_weights(attribute, stats, options, channels):
    """`positive_weights` or `channel_weights` of `stats`, warnings passed to the log."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if attribute == "pos_weight":
            weights = positive_weights(stats, options["weight_method"], channels.label_names,
                                       channels.num_auxiliary)
        else:
            weights = channel_weights(stats, options["weight_method"], options["weight_beta"],
                                      channels.label_names, channels.num_auxiliary)
    return weights, [str(warning.message) for warning in caught]


def _resolve_label_weights(config, dataset, save_dir):
    """`resolve_loss_weights` for a multi-label config: {yaml_key: LabelWeightSetting}."""
    channels = _Channels(config, dataset)
    settings, stats = {}, None
    # YAML anchors (`- *head`) make several entries one mapping, resolved once.
    resolved = {}
    for yaml_key, entry in _loss_entries(config):
        if id(entry) in resolved:
            if resolved[id(entry)] is not None:
                settings[yaml_key] = resolved[id(entry)]
            continue
        resolved[id(entry)] = None
        options = _pop_options(yaml_key, entry)
        is_bce = entry.get("type") == BCE
        if is_bce and entry.get("weight") in (AUTO, BATCH):
            raise ConfigError(
                f"`{yaml_key}.weight: {entry['weight']}`: BCELoss's `weight` rescales each "
                "element, not each label. For per-label weights from the train set set "
                f"`{yaml_key}.pos_weight: {entry['weight']}` instead (and remove `weight`).")
        if is_bce:
            attribute = "pos_weight"
        elif entry.get("mode") == MULTILABEL_MODE:
            attribute = "weight"
            _check_explicit_weight(yaml_key, entry)
        else:
            if entry.get("weight") in (AUTO, BATCH):
                raise ConfigError(
                    f"`{yaml_key}.weight: {entry['weight']}` in a multi-label config: "
                    f"{entry.get('type')} here does not score each label channel. Per-label "
                    f"weights go to BCELoss's `pos_weight: {entry['weight']}` and to losses "
                    f"with `mode: multilabel` (`weight: {entry['weight']}`).")
            continue
        value, key = entry.get(attribute), f"{yaml_key}.{attribute}"
        if isinstance(value, list):
            channels.check_list(key, value)
            weights = value
        elif value == BATCH:
            weights = BATCH
        elif value == AUTO:
            if getattr(dataset, "file_list", None) is None:
                raise ConfigError(f"`{key}: auto` counts the label files of the train set's "
                                  f"`file_list`, which {type(dataset).__name__} does not "
                                  "have; give the weights as a list.")
            stats = stats or train_set_stats(dataset, save_dir, channels.num_labels)
            try:
                weights, problems = _label_weights(attribute, stats, options, channels)
            except ValueError as error:
                raise ConfigError(f"`{key}: auto`: {error}") from error
            for problem in problems:
                logger.warning(f"`{key}: auto`: {problem}")
            weights = weights.round(6).tolist()
            _log_label_weights(key, options["weight_method"], stats, channels, weights)
        else:
            continue  # a loss's own value (None, a number, BCELoss's `dynamic`)
        entry[attribute] = None
        settings[yaml_key] = resolved[id(entry)] = LabelWeightSetting(attribute, weights,
                                                                      channels, options)
    return settings


def _log_label_weights(key, method, stats, channels, weights):
    table = PrettyTable(["channel", "positive pixels", "share", f"weight ({method})"])
    shares = [None] * channels.num_auxiliary + list(stats.pixel_share)
    counts = [None] * channels.num_auxiliary + [int(c) for c in stats.pixel_counts]
    for name, count, share, weight in zip(channels.names, counts, shares, weights):
        table.add_row([name, "-" if count is None else count,
                       "-" if share is None else f"{share:.4%}", f"{weight:.4f}"])
    logger.info(f"`{key}: auto` resolved to\n{table}")


class BatchLabelWeights:
    """Forward pre-hook of a multi-label loss: sets its `attribute` (`pos_weight` or
    `weight`) from the positive pixels of each label channel in the coming batch, smoothed
    as in `BatchClassWeights`."""

    def __init__(self, attribute, channels, ignore_index, method, beta, momentum):
        self.attribute, self.channels, self.ignore_index = attribute, channels, ignore_index
        self.options = {"weight_method": method, "weight_beta": beta}
        self.momentum = momentum
        self.smoothed = None

    def __call__(self, layer, inputs):
        labels = inputs[1].numpy()[:, self.channels.num_auxiliary:]  # (N, labels, H, W)
        batch = count_label_array(np.moveaxis(labels, 1, -1), labels.shape[1],
                                  self.ignore_index, multilabel=True)
        counts = np.append(batch.pixel_counts, batch.valid_pixels).astype(np.float64)
        if self.smoothed is None:
            self.smoothed = counts
        else:
            self.smoothed = self.momentum * self.smoothed + (1 - self.momentum) * counts
        if not (self.smoothed[:-1] > 0).any():
            return None  # no positive pixel so far: keep the previous weights
        stats = ClassStats.empty(self.channels.num_labels, multilabel=True)
        stats.pixel_counts, stats.valid_pixels = self.smoothed[:-1], self.smoothed[-1]
        stats.image_pixels = np.full(self.channels.num_labels, self.smoothed[-1])
        weights, _ = _label_weights(self.attribute, stats, self.options, self.channels)
        setattr(layer, self.attribute, _channel_tensor(self.attribute, weights))
        return None
