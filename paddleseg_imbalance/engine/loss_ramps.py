"""Give each `RampedLoss` of a run its span and, on resume, the iteration it is at."""
import contextlib

from paddleseg.utils import logger

from paddleseg_imbalance.config.loss_entries import walk_loss_entries
from paddleseg_imbalance.config.resolve import format_key
from paddleseg_imbalance.losses import RampedLoss


def start_ramps(losses, iters, start_iter):
    """Set `iters` (when the config leaves it out) and the current iteration of every
    `RampedLoss` among the built `losses`, and log each ramp."""
    for path, loss in walk_loss_entries(losses["types"]):
        if not isinstance(loss, RampedLoss):
            continue
        if loss.iters is None:
            loss.set_iters(iters)
        loss.iteration = start_iter
        logger.info(f"`{format_key(path)}`: {type(loss.loss).__name__} weighted "
                    f"{loss.start:g} -> {loss.end:g} over {loss.iters} iterations, now "
                    f"{loss.current_weight():g} (iteration {start_iter})")


@contextlib.contextmanager
def ramps_started(losses, iters, start_iter):
    """`start_ramps` as a per-run patch (`paddleseg_imbalance.patches`): the ramps are
    the run's own losses, so leaving the block has nothing of PaddleSeg's to restore."""
    start_ramps(losses, iters, start_iter)
    yield
