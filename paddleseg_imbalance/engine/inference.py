"""Load a model written by `tools/export.py` with Paddle Inference and run it."""
import os

import numpy as np
import paddle
import paddle.inference as paddle_infer
import yaml


def create_predictor(model_dir, use_gpu=False):
    """A `paddle.inference` predictor for the model in `model_dir` (reads deploy.yaml).

    On the CPU with Paddle 3.x, oneDNN (MKLDNN) is switched off: Paddle 3.3's oneDNN
    kernels reject PP-LiteSeg's interpolation attributes
    ("ConvertPirAttribute2RuntimeAttribute not support").
    """
    with open(os.path.join(model_dir, "deploy.yaml")) as file:
        deploy = yaml.safe_load(file)["Deploy"]
    config = paddle_infer.Config(os.path.join(model_dir, deploy["model"]),
                                 os.path.join(model_dir, deploy["params"]))
    if use_gpu:
        config.enable_use_gpu(256, 0)
    else:
        config.disable_gpu()
        if not paddle.__version__.startswith("2."):
            config.disable_mkldnn()
    return paddle_infer.create_predictor(config)


def run_predictor(predictor, images):
    """Run `predictor` on a float32 batch (N, C, H, W); returns the first output array."""
    images = np.ascontiguousarray(images, dtype="float32")
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    handle.reshape(images.shape)
    handle.copy_from_cpu(images)
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
