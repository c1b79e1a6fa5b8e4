"""`ClassBalancedDataset`: repeat-factor sampling of the images that contain rare classes."""
import math
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from paddleseg.cvlibs import manager
from paddleseg.utils import logger

from paddleseg_imbalance.analysis.class_stats import count_label_array, read_label_to_count
from paddleseg_imbalance.datasets.resampling import realise_epoch
from paddleseg_imbalance.datasets.wrappers import DatasetWrapper
from paddleseg_imbalance.label_value_maps import label_value_maps
from paddleseg_imbalance.labels import multilabel_to_hwc
from paddleseg_imbalance.registry import register

# Below this many label files, reading them in this process is faster than starting a
# process pool.
_PARALLEL_MIN_FILES = 200


@register(manager.DATASETS)
class ClassBalancedDataset(DatasetWrapper):
    r"""Repeat the images that contain rare classes (repeat-factor sampling).

    Gupta, Dollar & Girshick, "LVIS: A Dataset for Large Vocabulary Instance
    Segmentation", CVPR 2019, with segmentation classes in place of object categories.
    With f_c the share of images that contain class c (at least one pixel of it that is
    not `ignore_index`) and t = `oversample_thr`:

    .. math::

        r_c = \max\left(1, \sqrt{t / f_c}\right), \qquad r_i = \max_{c \in i} r_c

    so a class in fewer than a share t of the images makes every image that contains it
    repeat about sqrt(t / f_c) times per epoch; images with no rare class keep r_i = 1.

    An epoch holds L = ceil(R) samples, R = sum_i r_i, drawn by stochastic universal
    sampling (see `resampling`): image i appears floor(e_i) or ceil(e_i) times, with
    e_i = r_i * L / R >= r_i, so its expected share of the epoch is exactly r_i / R, and
    an image is never dropped. The fractional part is realised by chance afresh in every
    epoch, as detectron2's RepeatFactorTrainingSampler does, and not rounded up as
    mmengine's ClassBalancedDataset does (`math.ceil`: r = 1.01 gives 2 copies, so
    images with a barely-rare class are oversampled as much as those with r = 2).
    Unlike detectron2 the epoch length is fixed (PaddleSeg's DistributedBatchSampler
    reads `len` once), which is why the draws are systematic rather than independent.

    Which epochs a pass over this dataset holds: PaddleSeg's train loop wraps the
    dataset in `paddle.io.DistributedBatchSampler` and loads it with worker processes
    that are started afresh for every pass and never told the epoch. So the mapping from
    a sample number k to an image depends only on (seed, pass, k): pass p holds the
    repeat-factor epochs p * epochs ... (p + 1) * epochs - 1, concatenated
    (len = epochs * L), and every rank and worker computes the same mapping. PaddleSeg's
    loop never calls `set_epoch`, so it repeats pass 0: with `epochs: 1` the stochastic
    rounding is drawn once for the whole training; set `epochs` to the number of epochs
    the training runs (iters * batch_size * ranks / L, rounded up) to draw it afresh
    every epoch, as detectron2 does. A loop that calls `set_epoch(p)` before each pass
    gets fresh epochs with any `epochs`.

    Class presence is read once, at construction, from the label files of the wrapped
    dataset's `file_list` (in parallel for large datasets), as its label-value transforms
    (`RemapLabels`; see `label_value_maps`) leave them; the other transforms are not run.

    Args:
        dataset: the dataset to wrap; it needs `file_list` ([image, label] per sample,
            as PaddleSeg's `Dataset` has).
        oversample_thr: t, the image share below which a class is rare, in (0, 1].
            LVIS uses 0.001 on 100k images; a few thousand images want 0.01 to 0.1.
        seed: seeds every epoch's draw (with the epoch number).
        num_classes: classes; default the wrapped dataset's `num_classes`.
        ignore_index: label value that marks ignored pixels; default the wrapped
            dataset's `ignore_index` (255 if it has none).
        epochs: repeat-factor epochs per pass over this dataset (see above), >= 1.
        num_labels: for multi-label label files (PaddleSeg's strips or (H, W, C)), the
            label channels in the files, without an auxiliary background channel; class
            c is then label c, present where its channel is 1. None: class maps.

    Attributes:
        repeat_factors: r_i, float64, one per image of the wrapped dataset.
        class_repeat_factors: r_c, one per class (1 for a class in no image).
        class_presence: bool (images, classes), whether image i contains class c.
        epoch_length: L.
    """

    def __init__(self, dataset, oversample_thr=0.01, seed=0, num_classes=None,
                 ignore_index=None, epochs=1, num_labels=None):
        super().__init__(dataset)
        if not 0 < oversample_thr <= 1:
            raise ValueError(f"ClassBalancedDataset: oversample_thr is {oversample_thr}; it "
                             "is an image share, set it in (0, 1], e.g. 0.01.")
        if int(epochs) != epochs or epochs < 1:
            raise ValueError(f"ClassBalancedDataset: epochs is {epochs}; set a whole number "
                             ">= 1 (the repeat-factor epochs one pass holds).")
        self.oversample_thr = float(oversample_thr)
        self.seed = int(seed)
        self.epochs = int(epochs)
        if num_classes is None:
            num_classes = num_labels or getattr(dataset, "num_classes", None)
        if num_classes is None:
            raise ValueError("ClassBalancedDataset: the wrapped dataset has no `num_classes`; "
                             "give `num_classes` to ClassBalancedDataset.")
        if ignore_index is None:
            ignore_index = getattr(dataset, "ignore_index", 255)
        # num_classes, ignore_index and num_labels stay local: as attributes they would
        # hide the wrapped dataset's, which PaddleSeg and the tools read through the wrapper.
        self.class_presence = self._read_class_presence(int(num_classes), ignore_index,
                                                        num_labels)
        image_share = self.class_presence.mean(axis=0)
        with np.errstate(divide="ignore"):
            self.class_repeat_factors = np.where(
                image_share > 0, np.maximum(1.0, np.sqrt(self.oversample_thr / image_share)), 1.0)
        self.repeat_factors = np.where(self.class_presence, self.class_repeat_factors,
                                       1.0).max(axis=1, initial=1.0)
        # The small tolerance keeps an integral R (e.g. no rare class: R = N) from
        # becoming R + 1 through floating-point rounding.
        self.epoch_length = int(math.ceil(self.repeat_factors.sum() - 1e-9))
        self.pass_index = 0
        self._epoch_lists = {}
        self._log_summary(image_share)

    def _read_class_presence(self, num_classes, ignore_index, num_labels):
        file_list = getattr(self.dataset, "file_list", None)
        kind = type(self.dataset).__name__
        if isinstance(self.dataset, DatasetWrapper):
            raise ValueError(f"ClassBalancedDataset cannot wrap a {kind}: its samples are not "
                             "the images of its file_list. Put ClassBalancedDataset "
                             f"innermost, e.g. {kind}(dataset=ClassBalancedDataset(dataset="
                             "Dataset(...))).")
        if file_list is None:
            raise ValueError(f"ClassBalancedDataset reads the labels listed in the wrapped "
                             f"dataset's `file_list`; {kind} has none. Wrap a PaddleSeg "
                             "`Dataset` (or a dataset with file_list = [[image, label], ...]).")
        if len(file_list) == 0:
            raise ValueError(f"ClassBalancedDataset: the wrapped {kind} has no samples; check "
                             "its file list (train_path).")
        if len(file_list) != len(self.dataset):
            raise ValueError(f"ClassBalancedDataset: the wrapped {kind} has {len(file_list)} "
                             f"files for {len(self.dataset)} samples; it needs one file "
                             "pair per sample, sample i being file_list[i].")
        missing = [index for index, entry in enumerate(file_list) if entry[1] is None]
        if missing:
            raise ValueError(f"ClassBalancedDataset: sample {missing[0]} of the wrapped "
                             f"{kind} has no label file ({len(missing)} samples have none); "
                             "wrap a training dataset (mode: train).")
        value_maps = label_value_maps(getattr(self.dataset, "transforms", None))
        jobs = [(entry[1], num_classes, ignore_index, num_labels, value_maps)
                for entry in file_list]
        if len(jobs) < _PARALLEL_MIN_FILES:
            return np.array([_classes_present(job) for job in jobs])
        workers = os.cpu_count() or 1
        with ProcessPoolExecutor(max_workers=workers) as pool:
            chunk = max(1, len(jobs) // (workers * 8))
            return np.array(list(pool.map(_classes_present, jobs, chunksize=chunk)))

    def _log_summary(self, image_share):
        absent = np.flatnonzero(image_share == 0).tolist()
        if absent:
            logger.warning(
                f"ClassBalancedDataset: classes {absent} are in no label file of the "
                f"{len(self.class_presence)} images.")
        repeated = int((self.repeat_factors > 1).sum())
        logger.info(
            f"ClassBalancedDataset: {len(self.repeat_factors)} images, {repeated} repeated "
            f"(factors {self.repeat_factors.min():.2f} to {self.repeat_factors.max():.2f}), "
            f"{self.epoch_length} samples per epoch, {self.epochs} epochs per pass.")

    def set_epoch(self, pass_index):
        """Serve pass `pass_index`: repeat-factor epochs pass_index * epochs onwards.

        Call it in the main process before iterating the data loader, so that the
        worker processes started for that pass inherit it.
        """
        self.pass_index = int(pass_index)
        self._epoch_lists = {}

    def epoch_indices(self, epoch):
        """The shuffled image indices of repeat-factor epoch `epoch` (length L)."""
        first = self.pass_index * self.epochs
        if not first <= epoch < first + self.epochs:
            # Only the current pass's epochs are kept, so memory stays at len(self) indices.
            return realise_epoch(self.repeat_factors, self.epoch_length, self.seed, epoch)
        if epoch not in self._epoch_lists:
            self._epoch_lists[epoch] = realise_epoch(self.repeat_factors, self.epoch_length,
                                                     self.seed, epoch)
        return self._epoch_lists[epoch]

    def source_index(self, index):
        """The image of the wrapped dataset that sample `index` of this pass shows."""
        if not 0 <= index < len(self):
            raise IndexError(f"ClassBalancedDataset: sample {index} of {len(self)}.")
        epoch_in_pass, position = divmod(int(index), self.epoch_length)
        return int(self.epoch_indices(self.pass_index * self.epochs + epoch_in_pass)[position])

    def __len__(self):
        return self.epochs * self.epoch_length

    def __getitem__(self, index):
        return self.dataset[self.source_index(index)]


def _classes_present(job):
    """Whether each class has a pixel in one label file (a process-pool job)."""
    path, num_classes, ignore_index, num_labels, value_maps = job
    label = read_label_to_count(path, value_maps)
    if num_labels:
        label = multilabel_to_hwc(label, num_labels)
        return count_label_array(label, num_labels, ignore_index, multilabel=True).image_counts > 0
    if label.ndim != 2:
        raise ValueError(f"ClassBalancedDataset: label file '{path}' has shape {label.shape}: "
                         "expected a single-channel class map; for multi-label files set "
                         "`num_labels` to the number of labels.")
    return count_label_array(label, num_classes, ignore_index).image_counts > 0
