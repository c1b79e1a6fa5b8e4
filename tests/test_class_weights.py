"""Class statistics and weights against counts and formulas computed by hand."""
import numpy as np
import pytest
from PIL import Image

from paddleseg_imbalance.analysis import ClassStats, class_weights, count_classes
from paddleseg_imbalance.analysis.class_stats import count_label_array

IGNORE = 255


def write_labels(directory, arrays):
    paths = []
    for index, array in enumerate(arrays):
        path = directory / f"{index}.png"
        Image.fromarray(array.astype(np.uint8)).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def three_images(tmp_path):
    """Class maps of 10 pixels each: classes 0,1,2 of 3; class 2 in one image only."""
    a = np.array([[0] * 8 + [1] * 2])            # 8 bg, 2 fg
    b = np.array([[0] * 5 + [2] * 1 + [IGNORE] * 4])  # 5 bg, 1 class-2, 4 ignored
    c = np.array([[0] * 10])
    return write_labels(tmp_path, [a, b, c])


def test_counts_are_ignore_aware(three_images):
    stats = count_classes(three_images, 3, IGNORE, workers=2, progress=False)
    np.testing.assert_array_equal(stats.pixel_counts, [23, 2, 1])
    np.testing.assert_array_equal(stats.image_counts, [3, 1, 1])
    np.testing.assert_array_equal(stats.image_pixels, [10 + 6 + 10, 10, 6])
    assert (stats.num_images, stats.valid_pixels, stats.ignored_pixels) == (3, 26, 4)


def test_unexpected_values_are_reported_not_counted(tmp_path):
    paths = write_labels(tmp_path, [np.array([[0, 1, 7, 7, IGNORE]])])
    stats = count_classes(paths, 2, IGNORE, workers=1, progress=False)
    assert stats.unexpected_values == {7: 2}
    np.testing.assert_array_equal(stats.pixel_counts, [1, 1])


def test_multilabel_strip_counts_per_label(tmp_path):
    road = np.array([[1, 1, 0, IGNORE]])
    building = np.array([[0, 1, 1, 1]])
    paths = write_labels(tmp_path, [np.concatenate([road, building], axis=1)])
    stats = count_classes(paths, 2, IGNORE, multilabel=True, workers=1, progress=False)
    np.testing.assert_array_equal(stats.pixel_counts, [2, 3])
    assert stats.ignored_pixels == 1 and stats.valid_pixels == 7


def test_rgb_label_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)
    with pytest.raises(ValueError, match="rgb.png.*single-channel"):
        count_classes([path], 2, workers=1, progress=False)


def stats_of(counts, image_pixels=None):
    counts = np.asarray(counts, np.int64)
    stats = ClassStats.empty(len(counts))
    stats.pixel_counts = counts
    stats.image_pixels = np.asarray(image_pixels if image_pixels is not None else
                                    [counts.sum()] * len(counts), np.int64)
    return stats


def test_inverse_and_sqrt_inverse_by_hand():
    stats = stats_of([90, 10])
    # f = [0.9, 0.1]; 1/f = [1.111, 10] -> mean 5.5556
    np.testing.assert_allclose(class_weights(stats, "inverse"),
                               np.array([1 / 0.9, 10]) / ((1 / 0.9 + 10) / 2))
    raw = np.array([1 / np.sqrt(0.9), 1 / np.sqrt(0.1)])
    np.testing.assert_allclose(class_weights(stats, "sqrt_inverse"), raw / raw.mean())


def test_median_frequency_by_hand(three_images):
    stats = count_classes(three_images, 3, IGNORE, workers=1, progress=False)
    frequency = np.array([23 / 26, 2 / 10, 1 / 6])
    raw = np.median(frequency) / frequency
    np.testing.assert_allclose(class_weights(stats, "median_frequency"), raw / raw.mean())


def test_effective_number_by_hand():
    stats = stats_of([1000, 10])
    beta = 0.99
    raw = (1 - beta) / (1 - beta ** np.array([1000.0, 10.0]))
    np.testing.assert_allclose(class_weights(stats, "effective_number", beta=beta),
                               raw / raw.mean())
    default = class_weights(stats, "effective_number")
    assert default[1] > default[0] and default.mean() == pytest.approx(1.0)


def test_absent_class_gets_the_largest_present_weight_and_a_warning():
    stats = stats_of([90, 10, 0])
    with pytest.warns(UserWarning, match="road have no pixels"):
        weights = class_weights(stats, "inverse", class_names=["bg", "building", "road"])
    assert weights[2] == weights[1] and np.isfinite(weights).all()
    assert weights[:2].mean() == pytest.approx(1.0)


def test_bad_method_and_beta_and_empty_data():
    with pytest.raises(ValueError, match="weight_method.*median_frequency"):
        class_weights(stats_of([1, 1]), "balanced")
    with pytest.raises(ValueError, match="weight_beta"):
        class_weights(stats_of([1, 1]), "effective_number", beta=1.5)
    with pytest.raises(ValueError, match="No class has any labelled pixel"):
        class_weights(stats_of([0, 0]), "inverse")


def test_batch_counting_matches_file_counting(three_images):
    arrays = [np.asarray(Image.open(p)) for p in three_images]
    from_files = count_classes(three_images, 3, IGNORE, workers=1, progress=False)
    from_batch = count_label_array(np.concatenate(arrays)[:, None].reshape(3, 1, 10), 3, IGNORE)
    np.testing.assert_array_equal(from_batch.pixel_counts, from_files.pixel_counts)
    np.testing.assert_array_equal(from_batch.image_pixels, from_files.image_pixels)
