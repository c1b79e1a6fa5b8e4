"""Load a PaddleSeg YAML config and check the paths it names before anything is built.

PaddleSeg reports a missing config or dataset path as a bare `AssertionError` or as a
`RuntimeError` wrapped around the dataset's constructor. Here each one is a
`ConfigError` that names the YAML key, what was found, and how to fix it.
"""
import os

from paddleseg.cvlibs import Config

from paddleseg_imbalance.config.resolve import LintInputError, resolve_config

# Dataset keys that name a path, with what the path must be.
_DATASET_PATH_KEYS = {
    "dataset_root": "directory",
    "train_path": "file",
    "val_path": "file",
    "test_path": "file",
}
# The file list each dataset mode reads.
_MODE_LIST_KEY = {"train": "train_path", "val": "val_path", "test": "test_path"}


class ConfigError(ValueError):
    """A config, or a path it names, cannot be used. The message says how to fix it."""


def load_config(path, learning_rate=None, batch_size=None, iters=None, opts=None):
    """PaddleSeg's `Config` for `path`, with the command-line overrides applied.

    The file and its `_base_` chain are read first by the lint's paddle-free loader
    (`config.resolve.resolve_config`), which refuses what PaddleSeg's own parsing would turn
    into a traceback or a MemoryError (empty, not UTF-8, a YAML syntax error, an alias
    bomb, a missing or cyclic `_base_`); only then does PaddleSeg's `Config` read it.

    Raises `ConfigError` for those, when the file is missing or not YAML, when an
    `--opts` entry is malformed, and when PaddleSeg's config checker refuses the config.
    """
    if not path:
        raise ConfigError("No config given: pass --config path/to/config.yml.")
    if not os.path.isfile(path):
        raise ConfigError(f"Config file '{path}' not found (--config). Check the path; "
                          "configs shipped with this project are under configs/.")
    if not path.endswith((".yml", ".yaml")):
        raise ConfigError(f"Config file '{path}' is not YAML (--config): PaddleSeg reads "
                          ".yml or .yaml files only.")
    try:
        resolved = resolve_config(path, opts)
    except LintInputError as error:
        raise ConfigError(str(error)) from error
    if learning_rate and not isinstance(resolved.data.get("lr_scheduler"), dict):
        raise ConfigError(f"--learning_rate sets `lr_scheduler.learning_rate`, but '{path}' "
                          "has no `lr_scheduler` section; add one, e.g. `lr_scheduler: "
                          "{type: PolynomialDecay, learning_rate: 0.01}`.")
    try:
        return Config(path, learning_rate=learning_rate, batch_size=batch_size,
                      iters=iters, opts=opts)
    except (AssertionError, RuntimeError) as error:
        # RuntimeError: PaddleSeg's config checker ("Sanity check ... has failed").
        raise ConfigError(f"Config '{path}': {error}\nRun `paddleseg-imbalance lint {path}` "
                          "for the fix.") from error


def check_dataset_paths(config, section):
    """Check the paths that `config.<section>` (e.g. `train_dataset`) names.

    `dataset_root` must be a directory and the file list of the section's `mode` a
    file. Relative paths are taken from the working directory, as PaddleSeg does.
    """
    dataset_cfg = config.dic.get(section)
    if not dataset_cfg:
        raise ConfigError(f"The config has no `{section}` section; add one (see "
                          "configs/demo/ for a complete example).")
    mode = str(dataset_cfg.get("mode", "train")).lower()
    keys = ["dataset_root"]
    if mode in _MODE_LIST_KEY:
        keys.append(_MODE_LIST_KEY[mode])
    for key in keys:
        if key not in dataset_cfg:
            if dataset_cfg.get("type") == "Dataset":
                raise ConfigError(f"`{section}.{key}` is missing: a `Dataset` in mode "
                                  f"'{mode}' needs it.")
            continue
        _check_path(f"{section}.{key}", dataset_cfg[key], _DATASET_PATH_KEYS[key])


def _check_path(yaml_key, value, kind):
    exists = os.path.isdir(value) if kind == "directory" else os.path.isfile(value)
    if exists:
        return
    hint = ("create it with `paddleseg-imbalance demo-data data/demo` for the demo configs, "
            "or point the key at your dataset")
    if os.path.exists(value):
        found = f"'{value}' exists but is not a {kind}"
    else:
        found = f"{kind} '{value}' does not exist (working directory: {os.getcwd()})"
    raise ConfigError(f"`{yaml_key}`: {found}; {hint}.")


def check_pretrained_paths(config):
    """`model.pretrained` and `model.backbone.pretrained`, where they name a local path,
    must be files: PaddleSeg would stop with "The pretrained model directory is not Found"
    only once the model is built. URLs are left to PaddleSeg's download."""
    model_cfg = config.dic.get("model") or {}
    for yaml_key, value in (("model.pretrained", model_cfg.get("pretrained")),
                            ("model.backbone.pretrained",
                             (model_cfg.get("backbone") or {}).get("pretrained"))):
        if not isinstance(value, str) or "://" in value or os.path.isfile(value):
            continue
        raise ConfigError(
            f"`{yaml_key}`: file '{value}' does not exist (working directory: "
            f"{os.getcwd()}); train the model it names first (for a two-stage recipe, run "
            "stage 1), point the key at a model.pdparams, or set it to null to train from "
            "scratch.")
