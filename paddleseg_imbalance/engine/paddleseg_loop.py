"""PaddleSeg's training loop module, and the one way the tools change it for a run.

`paddleseg.core.train` the attribute is the function; the loop's module is
`paddleseg_train_module`. The per-run hooks (evaluation in training, atomic checkpoints,
the finite-loss check, hard-example feedback) each replace names the loop looks up in its
module (`evaluate`, `logger`, `paddle`, `loss_computation`) with `replaced_in_loop`, which
puts the originals back when the block ends, however it ends.
"""
import contextlib
import importlib
import inspect

paddleseg_train_module = importlib.import_module("paddleseg.core.train")


def _defaulted_parameters(function):
    """The names of `function`'s positional parameters that have a default, in the order
    of `function.__defaults__`."""
    positional = [parameter.name for parameter in inspect.signature(function).parameters.values()
                  if parameter.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
    count = len(function.__defaults__ or ())
    return positional[len(positional) - count:]


@contextlib.contextmanager
def replaced_in_loop(**replacements):
    """Set `paddleseg_train_module.<name> = value` for each keyword during the block.

    PaddleSeg develop's loop takes its logger as a parameter (`logger=setup_logger(...)`)
    instead of the module's: a replaced name that is a parameter default of the loop
    function is replaced there too.
    """
    loop = paddleseg_train_module.train
    originals = {name: getattr(paddleseg_train_module, name) for name in replacements}
    original_defaults = loop.__defaults__
    defaults = list(original_defaults or ())
    for index, name in enumerate(_defaulted_parameters(loop)):
        if name in replacements:
            defaults[index] = replacements[name]
    for name, value in replacements.items():
        setattr(paddleseg_train_module, name, value)
    loop.__defaults__ = tuple(defaults) if original_defaults is not None else None
    try:
        yield
    finally:
        loop.__defaults__ = original_defaults
        for name, value in originals.items():
            setattr(paddleseg_train_module, name, value)
