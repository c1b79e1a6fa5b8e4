"""The config lint every tool runs before it loads anything else (`--no_lint` skips it).

PaddleSeg refuses a config without the sections training needs in every tool, so the
same rules apply to `val.py`, `predict.py` and `export.py` as to `train.py`: a config that
would train wrongly is not evaluated, predicted with or exported either.
"""
from paddleseg.utils import logger

from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.session import rank_and_world_size
from paddleseg_imbalance.lint import LintInputError, lint
from paddleseg_imbalance.lint.known_components import from_managers


def lint_before_run(args):
    """Lint the config as this run will use it (`--iters`, `--batch_size`, `--opts` applied
    where the tool has them); log the warnings, raise `ConfigError` listing the errors."""
    opts = [f"{key}={getattr(args, key)}" for key in ("iters", "batch_size")
            if getattr(args, key, None) is not None] + list(args.opts or [])
    try:
        # The plugin is loaded here, so the live managers know every registered name.
        # A config a tool runs is never a fragment: what it lacks is an error.
        report = lint(args.config, opts=opts, known=from_managers(), fragment=False)
    except LintInputError as error:
        raise ConfigError(f"{error} (--config {args.config})") from error
    if report.errors:
        raise ConfigError(f"the config lint found {len(report.errors)} error(s); fix them, "
                          f"or pass --no_lint to run anyway:\n{report.text()}")
    if report.findings and rank_and_world_size()[0] == 0:
        logger.warning(f"config lint:\n{report.text()}")
