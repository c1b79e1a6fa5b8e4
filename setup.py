"""Install paddleseg-imbalance: `pip install -e ".[cpu,test]"` (or `[gpu,test]`)."""
import re
import runpy
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"',
                    (HERE / "paddleseg_imbalance" / "__init__.py").read_text()).group(1)
# PaddleSeg 2.8.x or an installed develop build (0.0.0.dev0), which pip then keeps.
PADDLESEG = runpy.run_path(str(HERE / "paddleseg_imbalance" / "paddleseg_requirement.py"))[
    "PADDLESEG_REQUIREMENT"]

setup(
    name="paddleseg-imbalance",
    version=VERSION,
    description="PaddleSeg plugin for class-imbalanced semantic segmentation",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.9,<3.13",
    packages=find_packages(include=["paddleseg_imbalance", "paddleseg_imbalance.*"]),
    # The console script's entry point: runs a config-only `lint` without importing paddle.
    py_modules=["paddleseg_imbalance_launcher"],
    package_data={"paddleseg_imbalance.lint": ["known_components.json"]},
    install_requires=[
        PADDLESEG,
        # paddleseg 2.8.0 (and develop) pins opencv-python<=4.6, built against numpy 1.
        "numpy>=1.21,<2",
        "opencv-python<=4.6.0",
        # visualdl (a paddleseg dependency) pulls pandas; pandas 3 wants numpy 2.
        "pandas<3",
        "pyyaml>=5.1",
        # paddlepaddle 2.6 reads FieldDescriptor.label, which protobuf 7 removed.
        "protobuf>=3.20.2,<7",
        "pillow",
        "tqdm",
        "prettytable",
        # structure widths (`stats`, lint PSI115); paddleseg needs it too.
        "scipy",
    ],
    extras_require={
        "cpu": ["paddlepaddle>=2.6.2"],
        "gpu": ["paddlepaddle-gpu>=2.6.2"],
        # The ONNX export test runs where paddle2onnx 2.x imports (Paddle 3); it skips,
        # saying why, on Paddle 2.6 (which needs paddle2onnx<2, see the [onnx] extra).
        # import-linter: tests/test_architecture.py checks the layers in .importlinter.
        "test": ["pytest>=7", "scikit-learn", "paddle2onnx>=2", "onnxruntime",
                 "import-linter>=2"],
        # paddle2onnx 2.x reads Paddle 3's model.json and refuses Paddle 2.x; with
        # Paddle 2.6 install "paddle2onnx<2", which reads model.pdmodel.
        "onnx": ["paddle2onnx>=1.2", "onnxruntime"],
    },
    entry_points={"console_scripts": ["paddleseg-imbalance=paddleseg_imbalance_launcher:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
)
