"""Checkpoint files that are whole or absent, and a resume checkpoint checked before training.

PaddleSeg 2.8.0's loop (`paddleseg.core.train.train`) writes `model.pdparams` and
`model.pdopt` with `paddle.save` straight to their final names: an interrupt mid-write
leaves a truncated file that looks complete, and resuming from it dies with a traceback.
While `atomic_checkpoints` is active, `paddle.save` as that module sees it
(`paddle_in_loop`) writes to a temporary name and renames it into place (`os.replace`);
everything else is the real `paddle`, and nothing outside that module changes.
"""
import contextlib
import json
import os
import re

import paddle

from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.paddleseg_loop import paddle_in_loop

CHECKPOINT_FILES = ("model.pdparams", "model.pdopt")


def write_atomically(path, write):
    """Call `write(temporary)`, flush it to disk, rename it to `path`: whatever interrupts,
    `path` is the previous file or the whole new one, never part of one."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.partial")
    try:
        write(temporary)
        with open(temporary, "rb") as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_json_atomically(path, data):
    def write(temporary):
        with open(temporary, "w") as file:
            json.dump(data, file, indent=1)
            file.write("\n")

    write_atomically(path, write)


@contextlib.contextmanager
def atomic_checkpoints(before_save=lambda obj, path: None, saved=lambda path: None):
    """Make PaddleSeg's training loop save atomically for the `with` block (see the module
    docstring); `before_save(obj, path)` (which may raise) and `saved(path)` are called
    around each file it saves."""

    def save(obj, path, **options):
        before_save(obj, path)
        write_atomically(path, lambda temporary: paddle.save(obj, temporary, **options))
        saved(path)

    with paddle_in_loop(save=save):
        yield


def check_resume_model(resume_model):
    """Raise `ConfigError` unless `resume_model` is a complete checkpoint directory that
    PaddleSeg can resume: named `..._<iteration>`, with `model.pdparams` and `model.pdopt`
    that load. Loads as numpy, so no device memory is taken."""
    if resume_model is None:
        return
    flag = f"--resume_model '{resume_model}'"
    fix = ("pass a checkpoint directory written by training, e.g. output/iter_1000 "
           "(it holds model.pdparams and model.pdopt)")
    if not os.path.isdir(resume_model):
        found = "is not a directory" if os.path.exists(resume_model) else "does not exist"
        raise ConfigError(f"{flag} {found}; {fix}.")
    if not re.search(r"_\d+$", os.path.basename(os.path.normpath(resume_model))):
        raise ConfigError(f"{flag}: PaddleSeg reads the iteration to resume from the "
                          f"directory name, which must end in _<iteration>; {fix}.")
    for name in CHECKPOINT_FILES:
        path = os.path.join(resume_model, name)
        if not os.path.isfile(path):
            raise ConfigError(f"{flag} is an incomplete checkpoint: {path} is missing (a run "
                              "stopped while saving leaves one); resume from an earlier "
                              f"iter_<N> directory, or {fix}.")
        try:
            state = paddle.load(path, return_numpy=True)
            problem = (None if isinstance(state, dict)
                       else f"it holds a {type(state).__name__}, not a state dict")
        except Exception as error:  # any failure to unpickle means a damaged file
            problem = f"{type(error).__name__}: {error}"
        if problem:
            raise ConfigError(f"{flag}: {path} cannot be loaded ({problem}); it is truncated "
                              "or not a checkpoint: resume from an earlier iter_<N> "
                              f"directory, or {fix}.")
