"""Load a few train samples through the dataset and its transforms, and watch the label values.

A transform that resizes labels with a non-nearest interpolation, or pads them with a
value other than `ignore_index`, makes label values that no label file holds; a
transform (or the dataset) can also simply fail on this data. The train dataset is
built from its config section through PaddleSeg's managers, exactly as the builder
builds it, and `dataset[i]` is read `repeats` times for each of the first `samples`
readable files (random transforms differ each time), with numpy's and Python's
generators seeded so the run is repeatable. Imports paddle (only `--scan-data` comes
here).
"""
import random
from dataclasses import dataclass

import numpy as np

from paddleseg_imbalance.component_traits import REMAP_TRANSFORM
from paddleseg_imbalance.lint.listing import build_dataset


@dataclass
class DryRunProblem:
    """`code` PSI109 (new label values) or PSI110 (loading failed) on `file`."""

    code: str
    message: str
    file: str


def _allowed_values(file_scan, ignore_index, transforms_cfg, multilabel):
    """Values a loaded label may hold: the file's own, ignore_index, remap targets."""
    allowed = set(file_scan.values()) | {ignore_index}
    if multilabel:
        allowed |= {0, 1}
    for transform in transforms_cfg:
        mapping = transform.get("mapping") if transform.get("type") == REMAP_TRANSFORM else None
        if isinstance(mapping, dict):
            allowed |= set(mapping.values())
    return allowed


def dry_run(section, file_scans, ignore_index, multilabel, samples=4, repeats=2, seed=0):
    """[`DryRunProblem`] from loading samples of the train `section` (a `DatasetSection`).

    Args:
        file_scans: the section's `FileScan`s, in file-list order; the first `samples`
            readable ones are loaded.
    """
    try:
        dataset = build_dataset(section)
    except Exception as error:  # noqa: BLE001  (a bad dataset or transform config: report it)
        return [DryRunProblem("PSI110", f"building the train dataset and its transforms "
                              f"failed: {type(error).__name__}: {error}", "")]
    transforms_cfg = [t for _, t in section.transforms()]
    usable = [i for i, scan in enumerate(file_scans)
              if scan.problem is None and scan.stats is not None][:samples]
    state = np.random.get_state(), random.getstate()
    np.random.seed(seed)
    random.seed(seed)
    problems = []
    try:
        for index in usable:
            scan = file_scans[index]
            allowed = _allowed_values(scan, ignore_index, transforms_cfg, multilabel)
            for _ in range(repeats):
                try:
                    label = np.asarray(dataset[index]["label"])
                except Exception as error:  # noqa: BLE001  (report any loading failure)
                    problems.append(DryRunProblem("PSI110", f"{type(error).__name__}: "
                                                  f"{str(error).strip()}", scan.label))
                    break
                new = sorted(set(np.unique(label).tolist()) - allowed)
                if new:
                    held = sorted(scan.values())[:8] if not multilabel else "0/1 per label"
                    problems.append(DryRunProblem(
                        "PSI109", f"values {new[:8]} appeared, the file holds {held}",
                        scan.label))
                    break
    finally:
        np.random.set_state(state[0])
        random.setstate(state[1])
    return problems
