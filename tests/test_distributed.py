"""`tools/train.py` under `paddle.distributed.launch` with two CPU ranks (gloo)."""
import json
import os
import subprocess
import sys

from tests.helpers import REPO, tiny_config, wrapped_train_config


def test_two_cpu_ranks_train_and_write_one_checkpoint(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path)
    save_dir, log_dir = tmp_path / "out", tmp_path / "logs"
    command = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
               "--log_dir", str(log_dir), os.path.join(REPO, "tools", "train.py"),
               "--config", config, "--device", "cpu", "--save_dir", str(save_dir),
               "--log_iters", "1", "--save_interval", "2", "--do_eval"]
    result = subprocess.run(command, cwd=str(tmp_path), capture_output=True,
                            text=True, timeout=600)
    logs = {rank: (log_dir / f"workerlog.{rank}").read_text() for rank in (0, 1)}
    assert result.returncode == 0, result.stderr[-3000:] + logs[0][-3000:] + logs[1][-3000:]
    for rank, log in logs.items():
        assert f"rank {rank}/2 starts training" in log
    assert "iter: 2/2" in logs[0]
    assert "[EVAL] #Images: 4" in logs[0]  # the evaluation counts both ranks' samples
    checkpoints = sorted(name for name in os.listdir(save_dir) if name.startswith("iter_"))
    assert checkpoints == ["iter_2"]
    assert (save_dir / "best_model" / "model.pdparams").is_file()
    assert (save_dir / "eval" / "iter_2.json").is_file()  # written once, by rank 0
    assert (save_dir / "iter_2" / "model.pdparams").is_file()


def test_two_ranks_feed_one_hard_example_dataset(demo_root, tmp_path):
    # 8 images, batch 2 per rank: 2 steps per pass, so 6 steps start two new epochs, in
    # which both ranks all-reduce their scores and must draw the same list.
    config = wrapped_train_config(demo_root, tmp_path,
                                  {"type": "HardExampleDataset", "max_weight": 3.0}, iters=6)
    save_dir, log_dir = tmp_path / "out", tmp_path / "logs"
    command = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
               "--log_dir", str(log_dir), os.path.join(REPO, "tools", "train.py"),
               "--config", config, "--device", "cpu", "--save_dir", str(save_dir),
               "--log_iters", "1", "--save_interval", "6"]
    result = subprocess.run(command, cwd=str(tmp_path), capture_output=True,
                            text=True, timeout=600)
    logs = {rank: (log_dir / f"workerlog.{rank}").read_text() for rank in (0, 1)}
    assert result.returncode == 0, result.stderr[-3000:] + logs[0][-3000:] + logs[1][-3000:]
    report = json.loads((save_dir / "hard_examples.json").read_text())
    assert report["epochs"] == 3  # passes 2 and 3 began with next_epoch, one at the end
    # Each pass the two ranks together see 8 samples; summed, every image gets scored.
    assert sum(image["hardness"] is not None for image in report["images"]) >= 6
