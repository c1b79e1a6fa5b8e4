"""PaddleSeg 2.8.0's training loop module, and the one way the tools change it for a run.

`paddleseg.core.train` the attribute is the function; the loop's module is
`paddleseg_train_module`. The per-run hooks (evaluation in training, atomic checkpoints,
the finite-loss check, hard-example feedback) each replace names the loop looks up in its
module (`evaluate`, `logger`, `paddle`, `loss_computation`) with `replaced_in_loop`, which
puts the originals back when the block ends, however it ends.
"""
import contextlib
import importlib

paddleseg_train_module = importlib.import_module("paddleseg.core.train")


@contextlib.contextmanager
def replaced_in_loop(**replacements):
    """Set `paddleseg_train_module.<name> = value` for each keyword during the block."""
    originals = {name: getattr(paddleseg_train_module, name) for name in replacements}
    for name, value in replacements.items():
        setattr(paddleseg_train_module, name, value)
    try:
        yield
    finally:
        for name, value in originals.items():
            setattr(paddleseg_train_module, name, value)
