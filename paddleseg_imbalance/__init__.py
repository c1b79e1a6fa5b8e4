"""paddleseg-imbalance: a PaddleSeg plugin for class-imbalanced semantic segmentation.

Importing this package repairs PaddleSeg 2.8.0 where it needs it (see `compat`) and
registers every component into PaddleSeg's managers and into `EVALUATORS`.
"""
# zlib must be loaded before paddle: paddlepaddle 2.6.2 exports its own inflate*
# symbols, and a zlib loaded after it fails with "inconsistent stream state".
import zlib  # noqa: F401  (import order matters, see above)

__version__ = "0.1.0"

from paddleseg_imbalance import compat  # noqa: E402

compat.apply()

# Importing the sub-packages registers their components.
from paddleseg_imbalance import datasets, losses, transforms  # noqa: E402,F401
from paddleseg_imbalance.evaluation import EVALUATORS  # noqa: E402

__all__ = ["EVALUATORS", "__version__"]
