"""The save dir of a training run: checked before anything is written, held for the run.

PaddleSeg 2.8.0's loop deletes a `save_dir` that is a file (`os.remove`) and finds a save
dir it cannot write only at the first checkpoint; two runs on one save dir overwrite each
other's `best_model/` without a word. Here the save dir must be a folder that can be
written, and rank 0 holds an exclusive lock on `<save_dir>/.train.lock` for the whole run.
"""
import contextlib
import os
import tempfile

from paddleseg_imbalance.engine.config import ConfigError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs go unlocked there.
    fcntl = None

LOCK_FILE = ".train.lock"


def prepare_save_dir(save_dir):
    """Create `save_dir` if needed; raise `ConfigError` if it is not a writable folder."""
    flag = f"--save_dir '{save_dir}'"
    if os.path.exists(save_dir) and not os.path.isdir(save_dir):
        raise ConfigError(f"{flag} is an existing file, not a folder; training writes "
                          "checkpoints into a folder there (and PaddleSeg would delete the "
                          "file): pass a folder path, e.g. --save_dir output/my_run.")
    try:
        os.makedirs(save_dir, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write_test.", dir=save_dir)
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        raise ConfigError(f"{flag} cannot be written ({error.strerror or error}); training "
                          "saves checkpoints there: pass a folder you can write, or fix its "
                          "permissions.") from error


@contextlib.contextmanager
def save_dir_lock(save_dir):
    """Hold `<save_dir>/.train.lock` for the `with` block; raise `ConfigError` naming the
    other run's pid when another training run holds it. The OS drops the lock when its
    process ends, however it ends, so a crashed run never leaves a stale lock."""
    if fcntl is None:
        yield
        return
    path = os.path.join(save_dir, LOCK_FILE)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(handle, 64).decode(errors="replace").strip() or "unknown"
            raise ConfigError(
                f"--save_dir '{save_dir}' is in use by another training run (pid {other}, "
                f"holding {path}); two runs there would overwrite each other's checkpoints "
                "and best_model/: wait for it to finish, stop it, or pass another "
                "--save_dir.") from None
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            os.ftruncate(handle, 0)
    finally:
        os.close(handle)  # closing releases the lock
