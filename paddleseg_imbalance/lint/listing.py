"""The (image, label) pairs a dataset section names, as PaddleSeg's dataset would list them.

For `type: Dataset`, and any dataset configured like it (a `train_path` / `val_path` /
`test_path` for its `mode`, as this plugin's MultiLabelDataset is), the file list is read
here exactly as PaddleSeg 2.8.0's `Dataset` reads it (`dataset_root` joined to each path,
`separator`, the list chosen by `mode`), so a missing root or list becomes a finding with
its YAML key. Any other dataset type (Cityscapes, ADE20K, ...) is built through
PaddleSeg's managers, and its `file_list` is read.
"""
import os

_MODE_LIST_KEY = {"train": "train_path", "val": "val_path", "test": "test_path"}


class ListingError(ValueError):
    """The file list cannot be read. `key` is the YAML key (tuple) to fix; `missing` says
    whether a path does not exist (PSI100) rather than the dataset being unlistable."""

    def __init__(self, key, message, missing=True):
        super().__init__(message)
        self.key, self.missing = key, missing


def _dataset_pairs(section):
    cfg, path = section.cfg, section.path
    root = cfg.get("dataset_root")
    if root is None or not os.path.exists(str(root)):
        raise ListingError(path + ("dataset_root",), f"dataset_root '{root}' does not exist")
    mode = str(cfg.get("mode", "")).lower()
    if mode not in _MODE_LIST_KEY:
        raise ListingError(path + ("mode",), f"mode is '{cfg.get('mode')}'; a `Dataset` "
                           "needs train, val or test", missing=False)
    list_key = _MODE_LIST_KEY[mode]
    list_path = cfg.get(list_key)
    if list_path is None or not os.path.isfile(str(list_path)):
        raise ListingError(path + (list_key,), f"{list_key} '{list_path}' does not exist")
    separator = cfg.get("separator", " ")
    pairs = []
    with open(list_path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            items = line.strip().split(separator)
            if len(items) != 2:
                raise ListingError(path + (list_key,), f"line {number} of '{list_path}' is "
                                   f"{line.strip()!r}, not 'image{separator}label'",
                                   missing=False)
            pairs.append((os.path.join(root, items[0]), os.path.join(root, items[1])))
    return pairs


def build_dataset(section):
    """The dataset of `section` built as PaddleSeg's builder builds it (imports paddle)."""
    from paddleseg.cvlibs import manager

    params = {key: value for key, value in section.cfg.items() if key != "type"}
    params["transforms"] = [
        manager.TRANSFORMS[t["type"]](**{k: v for k, v in t.items() if k != "type"})
        for _, t in section.transforms()]
    return manager.DATASETS[section.type](**params)


def _built_pairs(section):
    try:
        dataset = build_dataset(section)
    except Exception as error:  # noqa: BLE001  (any constructor error: report, do not crash)
        raise ListingError(section.path + ("type",), f"building {section.type} to list its "
                           f"files failed: {type(error).__name__}: {error}", missing=False)
    file_list = getattr(dataset, "file_list", None)
    if file_list is None:
        raise ListingError(section.path + ("type",), f"{section.type} has no `file_list`",
                           missing=False)
    return [(str(image), str(label)) for image, label in file_list if label is not None]


def list_pairs(section):
    """[(image path, label path)] of `section` (a `DatasetSection`).

    Raises:
        ListingError: the root or list is missing, a line is malformed, or the dataset
            type cannot be built.
    """
    mode = str(section.cfg.get("mode", "")).lower()
    if section.type == "Dataset" or _MODE_LIST_KEY.get(mode) in section.cfg:
        return _dataset_pairs(section)
    return _built_pairs(section)
