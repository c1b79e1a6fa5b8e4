"""`python -m paddleseg_imbalance ...` is the `paddleseg-imbalance` console script."""
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)
import sys

from paddleseg_imbalance.cli import main

sys.exit(main())
