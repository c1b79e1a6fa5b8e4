"""`HardExampleDataset`: sample more often the images the model did worst on last epoch."""
import numpy as np
import paddle
from paddleseg.cvlibs import manager

from paddleseg_imbalance.datasets.resampling import realise_epoch
from paddleseg_imbalance.datasets.wrappers import DatasetWrapper
from paddleseg_imbalance.registry import register

# The key under which each sample carries the index of its image in the wrapped dataset.
SAMPLE_INDEX_KEY = "sample_index"


@register(manager.DATASETS)
class HardExampleDataset(DatasetWrapper):
    """Raise the sampling rate of the images with the highest recent loss, within bounds.

    Online hard-example mining at the image level (the sampling counterpart of
    Shrivastava, Gupta & Girshick, "Training Region-based Object Detectors with Online
    Hard Example Mining", CVPR 2016, which mines regions inside a batch; and of Loshchilov
    & Hutter, "Online Batch Selection for Faster Training of Neural Networks", 2015).

    The training loop reports a hardness score per image, higher = harder (e.g. the
    image's loss on its rare classes, or 1 - its foreground IoU), and then starts the
    next epoch. paddleseg-imbalance's tools/train.py does both (see
    `engine.hard_example_feedback`), with the score `rare_class_loss_per_image`: the
    cross-entropy over the pixels that are, or are predicted as, a class other than
    `background_class`. In your own loop:

    1. `record(indices, scores)` after each step: `indices` from the batch's
       `sample_index` (every item of this dataset carries the index of its image there),
       `scores` one per item. Scores of an image seen several times are averaged.
    2. `next_epoch()` between two passes over the data loader, on every rank (it sums the
       ranks' records). For each image scored this epoch, its hardness becomes
       h = momentum * h_previous + (1 - momentum) * score (just the score the first
       time); unscored images keep theirs. The sampling weight is the hardness relative
       to the mean hardness, clipped to [1, max_weight]:

           w_i = clip(h_i / mean_j(h_j), 1, max_weight)

       so images at or below the mean keep the base rate, an image is sampled at most
       `max_weight` times as often as the base rate and no image dominates; images not
       scored yet get w = 1. The epoch's list of N = len(dataset) samples is drawn with
       probabilities w_i / sum(w) by stochastic universal sampling (see `resampling`),
       from a generator seeded by (seed, epoch): deterministic, the same on every rank
       and worker.

    Until the first `next_epoch` every weight is 1 and each image appears once per epoch,
    like the wrapped dataset (in a shuffled order the sampler shuffles again).

    `next_epoch` changes state in the process that calls it: data-loader workers see it
    when they are started, i.e. at the next pass over a loader without
    `persistent_workers`.

    Args:
        dataset: the dataset to wrap; its items must be dicts (PaddleSeg's are).
        max_weight: the largest weight, relative to the base rate, >= 1.
        momentum: share of the previous hardness kept at each epoch, in [0, 1).
        seed: seeds every epoch's draw (with the epoch number).
        background_class: the class tools/train.py's score leaves out where it is
            predicted correctly (so easy background does not dilute the score).

    Attributes:
        hardness: float64 per image, NaN until the image is first scored.
        weights: the current sampling weights, per image, in [1, max_weight].
        epoch: epochs started with `next_epoch` so far.
    """

    def __init__(self, dataset, max_weight=4.0, momentum=0.5, seed=0, background_class=0):
        super().__init__(dataset)
        if not max_weight >= 1:
            raise ValueError(f"HardExampleDataset: max_weight is {max_weight}; it bounds the "
                             "weight relative to the base rate, so it must be >= 1 (1 turns "
                             "hard-example sampling off).")
        if not 0 <= momentum < 1:
            raise ValueError(f"HardExampleDataset: momentum is {momentum}; set it in [0, 1) "
                             "(0: use only the last epoch's scores).")
        self.max_weight = float(max_weight)
        self.momentum = float(momentum)
        self.seed = int(seed)
        self.background_class = int(background_class)
        size = len(dataset)
        self.hardness = np.full(size, np.nan)
        self.weights = np.ones(size)
        self.epoch = 0
        self._score_sums = np.zeros(size)
        self._score_counts = np.zeros(size)
        self._epoch_list = None

    def record(self, indices, scores):
        """Add the hardness `scores` (higher = harder) of the images `indices`.

        Args:
            indices: image indices, e.g. `batch['sample_index']` (a tensor or array).
            scores: one finite score >= 0 per index, e.g. the per-image rare-class loss.
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if indices.shape != scores.shape:
            raise ValueError(f"HardExampleDataset.record: {indices.size} indices and "
                             f"{scores.size} scores; give one score per image.")
        if indices.size and not (0 <= indices.min() and indices.max() < len(self.hardness)):
            raise ValueError(f"HardExampleDataset.record: indices range from {indices.min()} "
                             f"to {indices.max()}, the wrapped dataset has "
                             f"{len(self.hardness)} images; pass the batch's "
                             f"'{SAMPLE_INDEX_KEY}', not the sample's position.")
        if not (np.isfinite(scores).all() and (scores >= 0).all()):
            raise ValueError(f"HardExampleDataset.record: scores must be finite and >= 0, "
                             f"found {scores[~(np.isfinite(scores) & (scores >= 0))][:5]}; "
                             "use a loss or 1 - IoU, not a log-likelihood.")
        np.add.at(self._score_sums, indices, scores)
        np.add.at(self._score_counts, indices, 1)

    def next_epoch(self):
        """Fold this epoch's scores into the hardness and draw the next epoch's samples."""
        sums = _sum_over_ranks(np.stack([self._score_sums, self._score_counts]))
        scored = sums[1] > 0
        means = sums[0, scored] / sums[1, scored]
        previous = self.hardness[scored]
        self.hardness[scored] = np.where(np.isnan(previous), means,
                                         self.momentum * previous + (1 - self.momentum) * means)
        self.weights = hard_example_weights(self.hardness, self.max_weight)
        self._score_sums[:] = 0
        self._score_counts[:] = 0
        self.epoch += 1
        self._epoch_list = None

    @property
    def probabilities(self):
        """Each image's probability per draw this epoch, w_i / sum(w)."""
        return self.weights / self.weights.sum()

    def source_index(self, index):
        """The image of the wrapped dataset that sample `index` of this epoch shows."""
        if not 0 <= index < len(self):
            raise IndexError(f"HardExampleDataset: sample {index} of {len(self)}.")
        if self._epoch_list is None:
            self._epoch_list = realise_epoch(self.weights, len(self), self.seed, self.epoch)
        return int(self._epoch_list[index])

    def __len__(self):
        return len(self.hardness)

    def __getitem__(self, index):
        image_index = self.source_index(index)
        item = self.dataset[image_index]
        if not isinstance(item, dict):
            raise TypeError(f"HardExampleDataset: the wrapped {type(self.dataset).__name__} "
                            f"returns {type(item).__name__} items; it needs dicts (as "
                            f"PaddleSeg's datasets return) to add '{SAMPLE_INDEX_KEY}'.")
        item[SAMPLE_INDEX_KEY] = image_index
        return item


def hard_example_weights(hardness, max_weight):
    """Sampling weights clip(h / mean(h), 1, max_weight); 1 where h is NaN or all h are 0."""
    known = ~np.isnan(hardness)
    weights = np.ones(len(hardness))
    mean = hardness[known].mean() if known.any() else 0.0
    if mean > 0:
        weights[known] = np.clip(hardness[known] / mean, 1.0, max_weight)
    return weights


def _sum_over_ranks(array):
    """`array` summed over the ranks of a distributed run (itself on one rank)."""
    if paddle.distributed.get_world_size() < 2:
        return array
    tensor = paddle.to_tensor(array)
    paddle.distributed.all_reduce(tensor)
    return tensor.numpy()
