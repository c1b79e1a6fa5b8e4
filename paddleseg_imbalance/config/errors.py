"""The error a dataset's files raise when they cannot be used, at any layer.

The tools turn it (and `engine.config.ConfigError`) into exit code 2 with its message
(`engine.entry.run_tool`); it lives here, at the bottom, so that the analysis that reads
label files can raise it without importing the engine.
"""


class DataError(ValueError):
    """Dataset files that cannot be trained on; the message lists them and the fix."""
