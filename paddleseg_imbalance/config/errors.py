"""Bad input: the error a dataset's files raise, and the exit code every tool gives it.

The tools turn `DataError` (and `engine.config.ConfigError`) into `EXIT_BAD_INPUT` with its
message (`engine.entry.run_tool`, the `cli` subcommands); it lives here, at the bottom, so
that the analysis that reads label files can raise it without importing the engine.
"""

# What every tool exits with on input it cannot use (argparse's usage errors exit 2 too).
EXIT_BAD_INPUT = 2


class DataError(ValueError):
    """Dataset files that cannot be trained on; the message lists them and the fix."""
