"""The PaddleSeg lines the plugin supports, as the one pip requirement `setup.py` installs.

PaddleSeg 2.8.x (the PyPI release) or a develop build (a source install, or the checkout
PaddleX 3 trains with), which reports version 0.0.0.dev0. PEP 440 has no "or", so the
requirement names what it refuses: the older releases 2.0 to 2.7 and anything from 2.9
on. pip counts an installed pre-release (0.0.0.dev0) as meeting it, so installing the
plugin keeps an installed develop; where no PaddleSeg is installed, pip picks 2.8.0.
(`paddleseg>=2.8.0` would not do: 0.0.0.dev0 sorts below 2.8.0, and pip would replace
develop with the 2023 release.)

Kept paddle-free and import-free: `setup.py` runs this file on its own.
"""
PADDLESEG_REQUIREMENT = "paddleseg<2.9," + ",".join(f"!=2.{minor}.*" for minor in range(8))
