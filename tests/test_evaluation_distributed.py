"""Two CPU ranks (gloo) give exactly the confusion matrix and the object counts of one rank."""
import paddleseg_imbalance  # noqa: F401  (first: zlib before paddle)

import os
import subprocess
import sys

import numpy as np
from sklearn.metrics import confusion_matrix

from paddleseg_imbalance.demo_data import write_demo_dataset
from paddleseg_imbalance.evaluation import ObjectMetrics, evaluate
from tests import dist_confusion_worker as worker

WORKER = os.path.abspath(worker.__file__)


def test_two_ranks_give_the_matrix_of_one(tmp_path):
    # 5 val images on 2 ranks: the sampler pads rank 1 with a repeat of image 0.
    info = write_demo_dataset(tmp_path / "demo", kind="binary", size=64, num_train=1,
                              num_val=5)["datasets"]["binary"]
    out, logs = tmp_path / "out", tmp_path / "logs"
    out.mkdir()
    command = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
               "--log_dir", str(logs), WORKER, info["path"], str(out)]
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(WORKER)))
    completed = subprocess.run(command, cwd=str(tmp_path), env=env, capture_output=True,
                               text=True, timeout=300)
    worker_logs = "".join((logs / f"workerlog.{r}").read_text()[-2000:] for r in (0, 1)
                          if (logs / f"workerlog.{r}").exists())
    assert completed.returncode == 0, completed.stderr[-2000:] + worker_logs

    one_rank = evaluate(worker.FixedConv(), worker.val_dataset(info["path"]),
                        evaluators=[ObjectMetrics()], print_detail=False)
    assert one_rank.objects.counts[0, 0] > 0  # label objects: the comparison is not vacuous
    pairs = [worker.random_batch(rank) for rank in (0, 1)]
    pred = np.concatenate([p.ravel() for p, _ in pairs])
    label = np.concatenate([l.ravel() for _, l in pairs])
    valid = label != 255
    expected_random = confusion_matrix(label[valid], pred[valid],
                                       labels=range(worker.NUM_CLASSES))
    for rank in (0, 1):
        saved = np.load(out / f"rank{rank}.npz")
        np.testing.assert_array_equal(saved["evaluated"], one_rank.confusion.matrix)
        assert int(saved["num_images"]) == 5
        np.testing.assert_array_equal(saved["objects"], one_rank.objects.counts)
        assert int(saved["ignored"]) == one_rank.confusion.ignored_pixels
        np.testing.assert_array_equal(saved["random"], expected_random)
        assert int(saved["random_ignored"]) == int((~valid).sum())
