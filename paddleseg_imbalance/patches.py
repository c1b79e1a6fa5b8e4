"""Every change the plugin makes to PaddleSeg, in one registry.

A change is a `Patch`: what it changes, what it fixes, the PaddleSeg and Paddle lines it
applies to, and its kind:

- "permanent": a repair of a PaddleSeg bug, installed once by `import paddleseg_imbalance`
  on the lines that have the bug (`compat`); `install()` returns whether it installed it
  now, `remove()` puts PaddleSeg's original back.
- "per_run": a hook of one training run (`engine/train.py`), entered with
  `per_run_patches`: `install(**arguments)` returns a context manager, and leaving it
  removes the hook, so PaddleSeg is unchanged after the run, however it ended. Every hook
  changes only names that PaddleSeg's loop looks up in its own module
  (`engine/paddleseg_loop.py`), never a process-wide class.

A new change to PaddleSeg goes here: a repair as a `Patch` in `compat._repairs()`, a
training hook as a `Patch` in `PER_RUN` with its context manager beside the code it serves.
`paddleseg-imbalance patches` prints the registry.

Imports nothing of paddle: the hooks' modules are imported when a hook is installed.
"""
import contextlib
import dataclasses
import importlib
from typing import Callable, Optional, Tuple

PERMANENT = "permanent"
PER_RUN = "per_run"
LOOP = "paddleseg.core.train"


@dataclasses.dataclass(frozen=True)
class Patch:
    """One change to PaddleSeg.

    Attributes:
        name: how logs and the registry name it ("cross-entropy").
        changes: the attributes it replaces, as dotted paths.
        fixes: what goes wrong without it.
        applies_to: the PaddleSeg and Paddle lines it is installed on.
        kind: PERMANENT or PER_RUN.
        install: PERMANENT: `install() -> bool`; PER_RUN: `install(**arguments)`, a
            context manager.
        remove: PERMANENT: `remove()`; PER_RUN: None (leaving the context removes it).
        needed: PERMANENT: whether the installed PaddleSeg/Paddle pair has the bug.
    """
    name: str
    changes: Tuple[str, ...]
    fixes: str
    applies_to: str
    kind: str
    install: Callable
    remove: Optional[Callable] = None
    needed: bool = True


def _hook(module, function):
    """A per-run `install`: `paddleseg_imbalance.engine.<module>.<function>`, imported
    when called."""
    def install(**arguments):
        engine_module = importlib.import_module(f"paddleseg_imbalance.engine.{module}")
        return getattr(engine_module, function)(**arguments)

    return install


PER_RUN_PATCHES = (
    Patch("loss-ramps", (),
          "each RampedLoss of the run needs its span and, on resume, its iteration; sets "
          "them on the run's own losses and changes nothing of PaddleSeg's",
          "all lines", PER_RUN, _hook("loss_ramps", "ramps_started")),
    Patch("evaluation-in-training", (f"{LOOP}.evaluate", f"{LOOP}.logger"),
          "the loop evaluates with PaddleSeg's mIoU only and keeps best_model/ by it; the "
          "plugin's evaluators, per-class curves and --best_metric run instead, and the "
          "loop's best-model line (every metric called mIoU, 'iter -1') is replaced",
          "PaddleSeg 2.8 and develop (develop's loop takes `logger` as a parameter "
          "default, replaced there too), all Paddle", PER_RUN,
          _hook("train_evaluation", "evaluation_in_training")),
    Patch("atomic-checkpoints", (f"{LOOP}.paddle.save",),
          "the loop writes checkpoints in place: an interrupt leaves a truncated file "
          "that looks complete; here each is written whole or not at all, and never with "
          "non-finite parameters", "PaddleSeg 2.8 and develop, all Paddle", PER_RUN,
          _hook("checkpoints", "atomic_checkpoints")),
    Patch("finite-loss-check", (f"{LOOP}.loss_computation",),
          "the loop trains on through a NaN/Inf loss and saves NaN parameters as "
          "best_model/; here the run stops at the first non-finite loss, naming the "
          "likely config values", "PaddleSeg 2.8 and develop, all Paddle", PER_RUN,
          lambda training: training.loss_checked()),
    Patch("hard-example-feedback",
          (f"{LOOP}.paddle.io.DataLoader", f"{LOOP}.loss_computation"),
          "the loop gives a HardExampleDataset neither its epochs nor per-image losses; "
          "here its loader starts each epoch and the loss observer scores each image",
          "PaddleSeg 2.8 and develop, all Paddle", PER_RUN,
          _hook("hard_example_feedback", "hard_example_feedback")),
)


def registry():
    """Every `Patch`: the permanent repairs (needed here or not), then the per-run hooks."""
    from paddleseg_imbalance import compat

    return [*compat.repairs(), *PER_RUN_PATCHES]


# Per-run patches installed now, in this process: one run at a time holds each.
_active = set()


class PerRunPatches:
    """The per-run hooks of one run, each removed when the run's block ends."""

    def __init__(self, stack):
        self._stack = stack
        self.installed = []

    def install(self, name, **arguments):
        """Install per-run patch `name` with its arguments; returns what its context
        manager gives (e.g. the HardExampleDataset fed).

        Raises:
            RuntimeError: `name` is installed already (in this run or another).
        """
        patch = next((patch for patch in PER_RUN_PATCHES if patch.name == name), None)
        if patch is None:
            raise KeyError(f"no per-run patch {name!r}; see paddleseg_imbalance.patches")
        if name in _active:
            raise RuntimeError(f"per-run patch {name} is installed already: a hook is "
                               "never applied twice.")
        entered = self._stack.enter_context(patch.install(**arguments))
        _active.add(name)
        self._stack.callback(_active.discard, name)
        self.installed.append(name)
        return entered


@contextlib.contextmanager
def per_run_patches():
    """A block in which `install` adds per-run patches; all are removed when it ends, in
    the reverse order, however it ends."""
    with contextlib.ExitStack() as stack:
        yield PerRunPatches(stack)


def format_registry(patches):
    """The registry as text: one paragraph per patch."""
    blocks = []
    for patch in patches:
        state = ("" if patch.kind == PER_RUN
                 else " (installed here)" if patch.needed else " (not needed here)")
        changes = ", ".join(patch.changes) or "nothing of PaddleSeg's"
        blocks.append(f"{patch.name} [{patch.kind}]{state}\n  changes: {changes}\n"
                      f"  applies to: {patch.applies_to}\n  fixes: {patch.fixes}")
    return "\n".join(blocks)
