"""The (image, label) pairs a dataset section names, as PaddleSeg's dataset would list them.

For `type: Dataset`, and any dataset configured like it (a `train_path` / `val_path` /
`test_path` for its `mode`, as this plugin's MultiLabelDataset is), the file list is read
here exactly as PaddleSeg 2.8.0's `Dataset` reads it (`dataset_root` joined to each path,
`separator`, the list chosen by `mode`; see `config.file_list`), so a missing root or
list, or a line PaddleSeg rejects, becomes a finding with its YAML key. Any other dataset type (Cityscapes, ADE20K, ...) is built through
PaddleSeg's managers, and its `file_list` is read.
"""
import os

from paddleseg_imbalance.config import file_list


class ListingError(ValueError):
    """The file list cannot be read. `key` is the YAML key (tuple) to fix; `missing` says
    whether a path does not exist (PSI100) rather than the dataset being unlistable."""

    def __init__(self, key, message, missing=True):
        super().__init__(message)
        self.key, self.missing = key, missing


def _dataset_pairs(section, line_problems):
    cfg, path = section.cfg, section.path
    root = cfg.get("dataset_root")
    if root is None or not os.path.exists(str(root)):
        raise ListingError(path + ("dataset_root",), f"dataset_root '{root}' does not exist")
    list_key = file_list.list_key(cfg)
    if list_key is None:
        raise ListingError(path + ("mode",), f"mode is '{cfg.get('mode')}'; a `Dataset` "
                           "needs train, val or test", missing=False)
    list_path = cfg.get(list_key)
    if list_path is None or not os.path.isfile(str(list_path)):
        raise ListingError(path + (list_key,), f"{list_key} '{list_path}' does not exist")
    pairs, problems = file_list.read_file_list(list_path, root, cfg.get("separator", " "))
    if problems and line_problems is None:
        raise ListingError(path + (list_key,), f"'{list_path}': "
                           f"{file_list.problems_text(problems).strip()}", missing=False)
    if problems:
        line_problems.append((path + (list_key,), list_path, problems))
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


def list_pairs(section, line_problems=None):
    """[(image path, label path)] of `section` (a `DatasetSection`).

    Args:
        line_problems: a list to which (YAML key, list path, ["line N: ..."]) is appended
            for a file list with lines PaddleSeg rejects (or no line), whose good lines are
            then listed; without it, such a list raises `ListingError`.

    Raises:
        ListingError: the root or list is missing, a line is malformed (see
            `line_problems`), or the dataset type cannot be built.
    """
    if file_list.reads_file_list(section.cfg):
        return _dataset_pairs(section, line_problems)
    return _built_pairs(section)
