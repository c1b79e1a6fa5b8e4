"""Streaming confusion counts: a K x K matrix for single-label segmentation, and per-label
2 x 2 counts for multi-label segmentation.

Both accumulate integer counts batch by batch on the device of the predictions, sum them
across ranks once at the end (`all_reduce`), and hand them to `metrics` as numpy int64.
Pixels whose label is `ignore_index` count nowhere but in `ignored_pixels`; any other label
outside the classes is a `ValueError` that names the values (mmseg's `histc` drops them
silently, PaddleSeg never looks).
"""
import numpy as np
import paddle
import paddle.distributed as dist


def init_parallel_env_once():
    """Initialise Paddle's collective environment if several ranks run and nobody has yet."""
    if dist.get_world_size() > 1 and not dist.is_initialized():
        dist.init_parallel_env()


def _as_int64_tensor(values):
    if not isinstance(values, paddle.Tensor):
        values = paddle.to_tensor(np.asarray(values))
    return values if values.dtype == paddle.int64 else values.astype("int64")


def _drop_channel_axis(values):
    """(N, 1, H, W) -> (N, H, W); other shapes are returned as they are."""
    if values.ndim == 4 and values.shape[1] == 1:
        return values.squeeze(1)
    return values


def _unique_values(tensor, mask, limit=10):
    """Up to `limit` distinct values of `tensor` where `mask` holds, as a Python list."""
    values = np.unique(paddle.masked_select(tensor, mask).numpy())
    return values[:limit].tolist()


class ConfusionMatrix:
    """Streaming K x K confusion matrix of a single-label segmentation.

    ``matrix[i, j]`` is the number of pixels labelled ``i`` and predicted ``j`` (rows are
    labels, columns predictions, as in `sklearn.metrics.confusion_matrix`), summed over
    every `update` and, after `all_reduce`, over every rank.

    One `update` is one pass of ``paddle.bincount`` over ``label * K + pred``. Pixels
    labelled ``ignore_index`` (the usual 255, or any value >= K) land in row
    ``ignore_index``, past the matrix, and are counted in `ignored_pixels` only. Any other
    label outside [0, K) lands past the matrix too, and is a `ValueError`.

    Args:
        num_classes (int): K, the number of classes.
        ignore_index (int): the label value of pixels that count in no metric. A negative
            value, or one inside [0, K) (that class is then never counted as a label),
            costs one extra pass per batch that moves those labels to row K.
    """

    def __init__(self, num_classes, ignore_index=255):
        if int(num_classes) < 1:
            raise ValueError(f"ConfusionMatrix: num_classes is {num_classes}; it must be "
                             "the number of classes the model predicts (>= 1).")
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        # Ignored labels must land past the matrix; a negative value is not even a bincount
        # bin. Values below K are moved to row K.
        self._ignore_row = max(self.ignore_index, self.num_classes)
        self.reset()

    def reset(self):
        """Forget every count."""
        self._counts = None  # device tensor (K*K,), created by the first update
        self._index = None  # reused per-pixel bin buffer (see update)
        self._ignored = 0
        self._reduced = False

    def update(self, pred, label):
        """Add one batch.

        Args:
            pred: predicted class indices, (N, H, W) or (N, 1, H, W), integer, values in
                [0, K). A Tensor (on any device) or a numpy array.
            label: labels of the same shape; values in [0, K) or ``ignore_index``.

        Raises:
            ValueError: the shapes differ, a label is neither a class nor
                ``ignore_index``, or a prediction lies outside [0, K).
        """
        if self._reduced:
            raise RuntimeError("ConfusionMatrix.update after all_reduce: the counts are "
                               "already summed over ranks; call reset() to start again.")
        pred, label = _drop_channel_axis(_as_int64_tensor(pred)), _drop_channel_axis(
            _as_int64_tensor(label))
        if pred.shape != label.shape:
            raise ValueError(
                f"ConfusionMatrix.update: pred has shape {pred.shape} but label has shape "
                f"{label.shape}; pass class indices (the argmax over the class axis, not "
                "the logits) with the label's shape.")
        k = self.num_classes
        low, high = paddle.stack([pred.min(), pred.max()]).numpy().tolist()
        if low < 0 or high >= k:  # such a prediction would count in another label's row
            raise self._input_error(pred, label)
        if self.ignore_index < k:
            label = paddle.where(label == self.ignore_index, paddle.full_like(label, k), label)

        index = self._index_buffer(label)
        index.scale_(k).add_(pred)
        try:
            counts = paddle.bincount(index.reshape([-1]), minlength=k * k)
        except ValueError as error:  # bincount refuses negative bins: a negative label
            raise self._input_error(pred, label) from error

        if counts.shape[0] > k * k:
            self._count_beyond_matrix(counts, pred, label)
            counts = counts[:k * k]
        self._counts = counts if self._counts is None else self._counts + counts

    def _index_buffer(self, label):
        """A copy of `label` in a buffer kept between batches of the same shape: a fresh
        full-size allocation per batch costs as much as the arithmetic on CPU."""
        if (self._index is None or self._index.shape != label.shape
                or str(self._index.place) != str(label.place)):  # Place has no != on 2.6
            self._index = paddle.empty_like(label)
        paddle.assign(label, output=self._index)
        return self._index

    def _count_beyond_matrix(self, counts, pred, label):
        """Bins past K*K hold ignored pixels (row `_ignore_row`) or invalid labels."""
        k, row = self.num_classes, self._ignore_row
        beyond, ignored = paddle.stack(
            [counts[k * k:].sum(), counts[row * k:(row + 1) * k].sum()]).numpy().tolist()
        if beyond != ignored:
            raise self._input_error(pred, label)
        self._ignored += ignored

    def _input_error(self, pred, label):
        k = self.num_classes
        bad_label = ((label < 0) | (label >= k)) & (label != self._ignore_row)
        if bool(bad_label.any()):
            values = _unique_values(label, bad_label)
            return ValueError(
                f"Label values {values} are neither a class in [0, {k}) nor ignore_index "
                f"{self.ignore_index}. Fix the dataset's num_classes or ignore_index, or map "
                "the values to classes with the RemapLabels transform (e.g. "
                "`mapping: {255: 1}` for 0/255 masks).")
        values = _unique_values(pred, (pred < 0) | (pred >= k))
        cause = (f"the model outputs more channels than num_classes {k}; make the model's "
                 "num_classes equal to the dataset's" if max(values) >= k else
                 "pass class indices (the argmax of the logits)")
        return ValueError(f"Predicted class indices {values} lie outside [0, {k}): {cause}.")

    def all_reduce(self):
        """Sum the counts over all ranks (a no-op on one rank); call once, after the last
        update, on every rank. Returns self."""
        if self._reduced:
            raise RuntimeError("ConfusionMatrix.all_reduce called twice: the counts would "
                               "be summed again; call reset() to start again.")
        self._reduced = True
        if dist.get_world_size() < 2:
            return self
        init_parallel_env_once()
        packed = paddle.to_tensor(np.append(self.matrix.reshape(-1), self._ignored))
        dist.all_reduce(packed)
        packed = packed.numpy()
        self._counts = paddle.to_tensor(packed[:-1])
        self._ignored = int(packed[-1])
        return self

    @property
    def matrix(self):
        """numpy int64 (K, K): rows are labels, columns predictions."""
        k = self.num_classes
        if self._counts is None:
            return np.zeros((k, k), np.int64)
        return self._counts.numpy().astype(np.int64).reshape(k, k)

    @property
    def ignored_pixels(self):
        """Number of pixels labelled ``ignore_index``."""
        return self._ignored

    @property
    def valid_pixels(self):
        """Number of pixels counted in the matrix."""
        return int(self.matrix.sum())


class MultiLabelConfusion:
    """Streaming per-label binary confusion counts of a multi-label segmentation.

    ``counts[c]`` is the 2 x 2 matrix ``[[TN, FP], [FN, TP]]`` of label channel ``c`` (rows:
    label 0/1, columns: prediction 0/1; the layout of
    `sklearn.metrics.multilabel_confusion_matrix`), over the elements whose label is not
    ``ignore_index``.

    Args:
        num_labels (int): C, the number of channels of the model output, auxiliary
            background channel included.
        ignore_index (int): the label value of elements that count nowhere.
        threshold (float): a probability above it is a positive prediction
            (PaddleSeg develop's multi-label inference uses ``sigmoid(logit) > 0.5``).
        skip_channels (tuple[int]): channels left out of the mean metrics and reported
            separately; ``(0,)`` is the background channel that PaddleSeg's
            `AddMultiLabelAuxiliaryCategory` adds. Counted all the same.
    """

    def __init__(self, num_labels, ignore_index=255, threshold=0.5, skip_channels=(0,)):
        if int(num_labels) < 1:
            raise ValueError(f"MultiLabelConfusion: num_labels is {num_labels}; it must be "
                             "the number of channels the model outputs (>= 1).")
        self.num_labels = int(num_labels)
        self.ignore_index = int(ignore_index)
        self.threshold = float(threshold)
        self.skip_channels = tuple(sorted(int(c) for c in skip_channels))
        outside = [c for c in self.skip_channels if not 0 <= c < self.num_labels]
        if outside:
            raise ValueError(f"MultiLabelConfusion: skip_channels {list(outside)} are not "
                             f"channels of a {self.num_labels}-channel output; use indices in "
                             f"[0, {self.num_labels}), or () when there is no auxiliary "
                             "background channel.")
        self.reset()

    def reset(self):
        """Forget every count."""
        self._counts = None  # device tensor (C*4 + 1,), last bin = ignored elements
        self._reduced = False

    def update(self, pred, label):
        """Add one batch.

        Args:
            pred: (N, C, H, W) probabilities (floating: positive where > threshold) or
                0/1 predictions (integer or bool). A Tensor or a numpy array.
            label: (N, C, H, W), values 0, 1 or ``ignore_index``.

        Raises:
            ValueError: shapes differ, C is wrong, or a value is not 0/1 (or ignore).
        """
        if self._reduced:
            raise RuntimeError("MultiLabelConfusion.update after all_reduce: call reset() "
                               "to start again.")
        if not isinstance(pred, paddle.Tensor):
            pred = paddle.to_tensor(np.asarray(pred))
        label = _as_int64_tensor(label)
        c = self.num_labels
        if pred.shape != label.shape or pred.ndim != 4 or pred.shape[1] != c:
            raise ValueError(
                f"MultiLabelConfusion.update: pred has shape {pred.shape} and label "
                f"{label.shape}; both must be (N, {c}, H, W), one channel per label "
                "(auxiliary background channel included).")
        if paddle.is_floating_point(pred):
            positive = (pred > self.threshold).astype("int64")
        else:
            positive = _as_int64_tensor(pred)
            not_binary = (positive != 0) & (positive != 1)
            if bool(not_binary.any()):
                raise ValueError(
                    f"MultiLabelConfusion.update: integer predictions must be 0/1, found "
                    f"{_unique_values(positive, not_binary)}; pass probabilities (sigmoid of "
                    "the logits) or thresholded 0/1 masks.")
        ignored = label == self.ignore_index
        not_binary = (label != 0) & (label != 1) & ~ignored
        if bool(not_binary.any()):
            raise ValueError(
                f"Multi-label label values {_unique_values(label, not_binary)} are neither "
                f"0/1 nor ignore_index {self.ignore_index}. Store each label as a 0/1 mask "
                "(map 0/255 masks with RemapLabels `mapping: {255: 1}`).")

        channel = paddle.arange(c, dtype="int64").reshape([1, c, 1, 1])
        index = channel * 4 + label * 2 + positive  # bin [c][label][pred]
        index = paddle.where(ignored, paddle.full_like(index, 4 * c), index)
        counts = paddle.bincount(index.reshape([-1]), minlength=4 * c + 1)
        self._counts = counts if self._counts is None else self._counts + counts

    def all_reduce(self):
        """Sum the counts over all ranks (no-op on one rank); call once on every rank."""
        if self._reduced:
            raise RuntimeError("MultiLabelConfusion.all_reduce called twice; call reset() "
                               "to start again.")
        self._reduced = True
        if dist.get_world_size() < 2:
            return self
        init_parallel_env_once()
        packed = paddle.to_tensor(self._packed())
        dist.all_reduce(packed)
        self._counts = packed
        return self

    def _packed(self):
        if self._counts is None:
            return np.zeros(4 * self.num_labels + 1, np.int64)
        return self._counts.numpy().astype(np.int64)

    @property
    def counts(self):
        """numpy int64 (C, 2, 2): ``counts[c] = [[TN, FP], [FN, TP]]``."""
        return self._packed()[:-1].reshape(self.num_labels, 2, 2)

    @property
    def ignored_elements(self):
        """Number of label elements (pixel x channel) equal to ``ignore_index``."""
        return int(self._packed()[-1])
