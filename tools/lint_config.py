"""Lint a PaddleSeg config (and, with --scan-data, its dataset): `paddleseg-imbalance lint`.

Usage: python tools/lint_config.py CONFIG [--scan-data] [--format text|json] [--strict]
Exit 0: clean; 1: errors (or warnings with --strict); 2: unusable input. Config-only
linting imports no paddle (see paddleseg_imbalance_launcher).
"""
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)
import os
import sys

# Run from a clone without installing: the launcher and the package sit beside tools/.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_imbalance_launcher import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["lint", *sys.argv[1:]]))
