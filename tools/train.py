"""Drop-in for PaddleSeg's tools/train.py, with the paddleseg-imbalance plugin loaded.

Usage: python tools/train.py --config CONFIG [PaddleSeg's flags]   (--help lists them)
"""
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)
import os
import sys

# Run from a clone without installing: the package sits beside tools/.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_imbalance.engine.entry import run_tool  # noqa: E402
from paddleseg_imbalance.engine.train import main  # noqa: E402

if __name__ == "__main__":
    run_tool(main)
