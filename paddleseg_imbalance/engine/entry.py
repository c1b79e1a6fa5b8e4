"""Run a tool's `main` and turn bad-input errors into one message and exit code 2."""
import sys

from paddleseg_imbalance.config.errors import EXIT_BAD_INPUT, DataError
from paddleseg_imbalance.engine.config import ConfigError


def run_tool(main, argv=None):
    """Call `main(argv)`; a `ConfigError` or `DataError` prints its message, exits 2."""
    try:
        return main(argv)
    except (ConfigError, DataError) as error:
        print(f"paddleseg-imbalance: error: {error}", file=sys.stderr, flush=True)
        sys.exit(EXIT_BAD_INPUT)
