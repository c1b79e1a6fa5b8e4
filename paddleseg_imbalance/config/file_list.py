"""Read a PaddleSeg file list line by line, as PaddleSeg 2.8.0's `Dataset` reads it.

`Dataset` splits each stripped line at `separator` and stops at the first line that is
not exactly 'image{separator}label' (train and val) with a ValueError naming neither the
file nor the line; a blank line, a missing label, a third column and a path holding a
space (with the default separator ' ') all end there. Here every line is read first and
each bad one is named with its number, so the tools and the lint can say what to fix.
Imports neither paddle nor numpy: the config-only lint may use it.
"""
import os

MODE_LIST_KEYS = {"train": "train_path", "val": "val_path", "test": "test_path"}
# Bad lines quoted in one message.
MAX_QUOTED = 10


def list_key(dataset_cfg):
    """The key of the file list a dataset config reads in its `mode` (None for an
    unknown mode)."""
    return MODE_LIST_KEYS.get(str(dataset_cfg.get("mode", "")).lower())


def reads_file_list(dataset_cfg):
    """Whether a dataset config is read like PaddleSeg's `Dataset`: type `Dataset`, or
    any type given the list key of its mode (this plugin's MultiLabelDataset is)."""
    return dataset_cfg.get("type") == "Dataset" or list_key(dataset_cfg) in dataset_cfg


def _line_problem(items, separator):
    """Why one split line is not 'image{separator}label', or None."""
    if items == [""]:
        return "is empty (delete blank lines)"
    if len(items) == 1:
        return f"names no label; expected 'image{separator}label'"
    if len(items) == 2 and all(items):
        return None
    if "" in items:
        return (f"has {len(items)} columns: two separators {separator!r} in a row; use one "
                "between the image and the label")
    hint = (" A path holds a space? Rename the file, or set the dataset's `separator` to a "
            "character no path holds (e.g. '|') and write the lines with it."
            if separator == " " else "")
    return f"has {len(items)} columns separated by {separator!r}; expected 2.{hint}"


def read_file_list(list_path, dataset_root, separator=" ", labelled=True):
    """Read a file list as PaddleSeg's `Dataset` does; returns (pairs, problems).

    Args:
        list_path: the file list.
        dataset_root: joined to each path, as PaddleSeg joins it.
        separator: the dataset's `separator`.
        labelled: every line must name a label (train and val); a test list may name
            images alone (their label is None).

    Returns:
        pairs: [(image path, label path or None)] of the usable lines.
        problems: ["line N: 'text' ..."] for each line PaddleSeg would reject, and one
            for a list that names no sample.
    """
    pairs, problems = [], []
    with open(list_path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            items = line.strip().split(separator)
            problem = _line_problem(items, separator) if labelled else None
            if problem:
                problems.append(f"line {number}: {line.strip()!r} {problem}")
                continue
            label = os.path.join(dataset_root, items[1]) if len(items) == 2 else None
            pairs.append((os.path.join(dataset_root, items[0]), label))
    if not pairs and not problems:
        problems.append("it names no sample; add lines 'image_path{0}label_path' (relative "
                        "to dataset_root)".format(separator))
    return pairs, problems


def problems_text(problems):
    """The first `MAX_QUOTED` problems, one per line, and how many more there are."""
    text = "\n".join(f"  {problem}" for problem in problems[:MAX_QUOTED])
    more = len(problems) - MAX_QUOTED
    return text + (f"\n  ... and {more} more" if more > 0 else "")
