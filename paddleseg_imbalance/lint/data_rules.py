"""Data rules (`lint --scan-data`): what the label files hold, against what the config says.

`scan_data` lists and reads each dataset section's files once (see `data_scan`), runs
a few train samples through the transforms (see `dry_run`), and stores a `SplitScan`
per section in `ctx.data`; the checks below only read those summaries.
"""
from paddleseg_imbalance.analysis.structure_width import THIN_WIDTH
from paddleseg_imbalance.lint.context import LabelCount
from paddleseg_imbalance.lint.data_scan import SplitScan, scan_files
from paddleseg_imbalance.lint.dry_run import dry_run
from paddleseg_imbalance.lint.listing import ListingError, list_pairs
from paddleseg_imbalance.lint.model_outputs import (PER_STAGE_ARGUMENTS, output_stride,
                                                    selected_backbone_stages)
from paddleseg_imbalance.lint.transform_rules import REMAP_TRANSFORM

# Files named in a finding's `data_files` (and the first few in its message).
MAX_FILES = 10
_IN_MESSAGE = 3
IGNORE_SHARE_LIMIT = 0.30
# Beyond this many values to renumber, a RemapLabels mapping is not the fix.
MAX_REMAPPED = 16


def scan_data(ctx, workers=None, progress=True, dry_run_samples=4):
    """Read every dataset section's files into `ctx.data`; set `ctx.num_labels` from them."""
    multilabel = ctx.is_multilabel()
    # Structure widths only matter (PSI115) when the model's output stride is known.
    measure_widths = output_stride(ctx.section("model")) is not None
    for section in ctx.datasets():
        split = SplitScan(section, num_classes=ctx.dataset_num_classes(section),
                          ignore_index=ctx.ignore_index(section), multilabel=multilabel)
        ctx.data[section.name] = split
        try:
            split.pairs = list_pairs(section, split.line_problems)
        except ListingError as error:
            split.listing_problem = error
            continue
        if not multilabel and split.num_classes is None:
            continue
        split.files = scan_files(split.pairs, split.num_classes, split.ignore_index, multilabel,
                                 _remaps(section), workers=workers, progress=progress,
                                 desc=f"scanning {section.name} labels",
                                 widths=measure_widths and section.name == "train_dataset")
        split.summarise()
        # A list PaddleSeg rejects cannot be built (and its indices would not match).
        if section.name == "train_dataset" and dry_run_samples and not split.line_problems:
            split.dry_run = dry_run(section, split.files, split.ignore_index, multilabel,
                                    samples=dry_run_samples)
    counts = {s.num_labels for s in ctx.data.values() if s.num_labels}
    if len(counts) == 1:
        ctx.num_labels = LabelCount(counts.pop(), "the label files")


def _remaps(section):
    """The section's valid `RemapLabels` transforms, built (a bad one is PSI110's business)."""
    from paddleseg_imbalance.transforms.remap_labels import RemapLabels

    remaps = []
    for _, transform in section.transforms():
        if transform["type"] == REMAP_TRANSFORM:
            try:
                remaps.append(RemapLabels(transform.get("mapping")))
            except ValueError:
                continue
    return remaps


def _files_text(files, total):
    shown = ", ".join(files[:_IN_MESSAGE])
    more = f" and {len(files) - _IN_MESSAGE} more" if len(files) > _IN_MESSAGE else ""
    return f"{len(files)} of {total} files ({shown}{more})"


def remap_fix(section_paths, mapping, note=""):
    """YAML that puts `RemapLabels` with `mapping` first in the transforms of each dataset
    section (key paths, e.g. ("train_dataset",))."""
    text = ", ".join(f"{key}: {value}" for key, value in mapping.items())
    lines = [f"add RemapLabels first in the transforms of every dataset{note}:"]
    for path in section_paths:
        indent = "  " * len(path)
        lines += [f"{'  ' * depth}{key}:" for depth, key in enumerate(path)]
        lines += [f"{indent}transforms:", f"{indent}  - type: {REMAP_TRANSFORM}",
                  f"{indent}    mapping: {{{text}}}", f"{indent}  - ...  # your transforms"]
    return "\n".join(lines)


def _remap_fix(ctx, mapping, note=""):
    return remap_fix([section.path for section in ctx.datasets()], mapping, note)


def _scanned(ctx):
    return [split for split in ctx.data.values() if split.files]


def missing_files(ctx):
    """PSI100 / PSI112: the file list cannot be read, or files are missing or undecodable."""
    for split in ctx.data.values():
        error = split.listing_problem
        if error is not None:
            code = "PSI100" if error.missing else "PSI112"
            yield ctx.finding(code, error.key, f"`{split.name}`: {error}",
                              "fix the path (relative paths start from the working "
                              "directory, as in PaddleSeg)" if error.missing else
                              "the data rules skipped this dataset; check its config")
            continue
        if not split.multilabel and split.num_classes is None:
            yield ctx.finding("PSI112", split.section.path, f"`{split.name}` has no "
                              "num_classes, so its labels were not scanned",
                              "add num_classes to the dataset")
        bad = [f for f in split.files if f.problem]
        if bad:
            listed = [f"{f.problem_file} ({f.problem})" for f in bad]
            yield ctx.finding(
                "PSI100", split.section.path, f"`{split.name}`: "
                f"{_files_text(listed, len(split.files))} cannot be read",
                "fix or remove these lines of the file list (paths are joined to "
                "dataset_root)", [f.problem_file for f in bad[:MAX_FILES]])


def file_list_lines(ctx):
    """PSI114: file-list lines PaddleSeg's `Dataset` rejects, or a list naming no sample."""
    for split in ctx.data.values():
        for key, list_path, problems in split.line_problems:
            yield ctx.finding(
                "PSI114", key, f"`{split.name}`: '{list_path}': {len(problems)} problem(s): "
                + "; ".join(problems[:_IN_MESSAGE])
                + (f"; and {len(problems) - _IN_MESSAGE} more" if len(problems) > _IN_MESSAGE
                   else ""),
                "write one 'image_path label_path' line per sample (paths relative to "
                "dataset_root, separated by the dataset's `separator`); PaddleSeg stops at "
                "the first other line", [list_path])


def _contiguous_mapping(values, ignore_index):
    """{value: index} renumbering the non-ignored values 0, 1, 2, ... (identities left out)."""
    ordered = sorted(v for v in values if v != ignore_index)
    return {value: index for index, value in enumerate(ordered) if value != index}


def label_values(ctx):
    """PSI101: label values >= num_classes (multi-label: other than 0/1) that are not ignored."""
    for split in _scanned(ctx):
        offending = [f for f in split.files if f.stats is not None and f.stats.unexpected_values]
        if not offending:
            continue
        pixels = {}
        for scan in offending:
            for value, count in scan.stats.unexpected_values.items():
                pixels[value] = pixels.get(value, 0) + count
        top = sorted(pixels, key=lambda v: -pixels[v])
        top_text = ", ".join(f"{v} ({pixels[v]} px)" for v in top[:5])
        files = _files_text([f.label for f in offending], len(split.files))
        key = split.section.path + ("num_classes",)
        data_files = [f.label for f in offending[:MAX_FILES]]
        if split.multilabel:
            yield ctx.finding(
                "PSI101", key, f"`{split.name}`: multi-label labels must be 0/1 (or "
                f"ignore_index {split.ignore_index}); found {top_text} in {files}",
                "save each label channel as 0/1", data_files)
            continue
        yield ctx.finding(
            "PSI101", key, f"`{split.name}`: label values {top_text} are >= num_classes "
            f"{split.num_classes} and not ignore_index {split.ignore_index}, in {files}: "
            "the loss fails with a device-side assertion (or reads out of bounds)",
            _out_of_range_fix(ctx, split), data_files)


def _out_of_range_fix(ctx, split):
    """Renumber the values with RemapLabels, or raise num_classes when they are 0..K-1."""
    values = sorted(v for v in split.values() if v != split.ignore_index)
    mapping = _contiguous_mapping(values, split.ignore_index)
    if not mapping:
        return (f"the labels hold classes 0..{len(values) - 1}: set num_classes: "
                f"{len(values)} in model, train_dataset and val_dataset")
    if len(mapping) > MAX_REMAPPED:
        return (f"the labels hold {len(values)} distinct values (JPEG noise or anti-aliased "
                "edges?): re-export them as lossless single-channel PNGs with values "
                f"0..{split.num_classes - 1}")
    note = "" if len(values) <= split.num_classes else f", and set num_classes: {len(values)}"
    return _remap_fix(ctx, mapping, note)


def is_255_binary(values, ignore_index, multilabel=False):
    """Whether label `values` are 0/255 masks whose 255 (the foreground) is ignored."""
    return not multilabel and ignore_index == 255 and set(values) == {0, 255}


BINARY_255_PROBLEM = ("the labels hold only 0 and 255, and 255 is ignore_index: every "
                      "foreground pixel is ignored, the model only ever sees background "
                      "(loss near 0, mIoU 0.5 or 1.0, all-black predictions)")
BINARY_255_MAPPING, BINARY_255_NOTE = {255: 1}, " (255 -> foreground class 1)"


def _is_255_binary(split):
    return is_255_binary(split.values(), split.ignore_index, split.multilabel)


def binary_255(ctx):
    """PSI102: 0/255 masks while 255 is ignore_index: foreground is never trained."""
    for split in _scanned(ctx):
        if _is_255_binary(split):
            yield ctx.finding(
                "PSI102", split.section.path + ("transforms",),
                f"`{split.name}`: {BINARY_255_PROBLEM}",
                _remap_fix(ctx, BINARY_255_MAPPING, BINARY_255_NOTE),
                [f.label for f in split.files[:MAX_FILES] if f.stats is not None])


def rgb_labels(ctx):
    """PSI103: colour-coded labels; the fix lists the colours found and an index for each."""
    for split in _scanned(ctx):
        coloured = [f for f in split.files if f.colours]
        if not coloured:
            continue
        totals = {}
        for scan in coloured:
            for colour, count in scan.colours.items():
                totals[colour] = totals.get(colour, 0) + count
        # Black first (background), then by pixels.
        order = sorted(totals, key=lambda c: (any(c[:3]), -totals[c]))
        table = "\n".join(f"  {colour} -> {index}   ({totals[colour]} px)"
                          for index, colour in enumerate(order[:20]))
        more = f"\n  ... {len(order) - 20} more colours" if len(order) > 20 else ""
        shape = coloured[0].label_shape
        yield ctx.finding(
            "PSI103", split.section.path, f"`{split.name}`: "
            f"{_files_text([f.label for f in coloured], len(split.files))} are colour-coded "
            f"(shape {shape}): PaddleSeg reads them as {shape[-1]} channels, not class indices",
            "convert each colour to its class index and save single-channel (or palette, "
            "mode P) PNGs; the colours found, with a suggested index:\n" + table + more,
            [f.label for f in coloured[:MAX_FILES]])


def jpeg_labels(ctx):
    """PSI104: JPEG label files."""
    for split in _scanned(ctx):
        jpegs = [f.label for f in split.files if f.jpeg]
        if jpegs:
            yield ctx.finding(
                "PSI104", split.section.path, f"`{split.name}`: "
                f"{_files_text(jpegs, len(split.files))} are JPEG: lossy compression adds "
                "label values along every edge", "save labels as PNG (lossless)",
                jpegs[:MAX_FILES])


def labels_16_bit(ctx):
    """PSI113: 16-bit label PNGs, which PaddleSeg alone trains as all background."""
    for split in _scanned(ctx):
        wide = [f.label for f in split.files if f.uint16]
        if wide:
            yield ctx.finding(
                "PSI113", split.section.path, f"`{split.name}`: "
                f"{_files_text(wide, len(split.files))} are 16-bit: PaddleSeg reads them as "
                "uint16, which Paddle takes for bfloat16 when it makes the batch tensor, so "
                "small class indices become 0 (all background)",
                "the plugin's tools read them as integers (its label-bit-depth repair of "
                "PaddleSeg 2.8); for PaddleSeg without the plugin, save them as 8-bit PNGs "
                "(e.g. Image.fromarray(label.astype('uint8')))", wide[:MAX_FILES])


def label_sizes(ctx):
    """PSI105: label and image sizes differ (class maps), EXIF orientation applied."""
    for split in _scanned(ctx):
        if split.multilabel:
            continue
        bad = [f for f in split.files if f.label_shape is not None and f.image_hw is not None
               and tuple(f.label_shape[:2]) != tuple(f.image_hw)]
        if bad:
            first = bad[0]
            yield ctx.finding(
                "PSI105", split.section.path, f"`{split.name}`: "
                f"{_files_text([f.label for f in bad], len(split.files))} differ in size from "
                f"their image, e.g. label {first.label_shape[0]}x{first.label_shape[1]} and "
                f"image {first.image_hw[0]}x{first.image_hw[1]} (HxW, the image's EXIF "
                "orientation applied as cv2.imread applies it)",
                "make each label the size of its image (re-export it, or strip the image's "
                "EXIF orientation after rotating its pixels)", [f.label for f in bad[:MAX_FILES]])


def multilabel_layout(ctx):
    """PSI111: multi-label files that fit no layout, or imply different label counts."""
    for split in _scanned(ctx):
        if not split.multilabel:
            continue
        bad = [f for f in split.files if f.layout_problem]
        if bad:
            yield ctx.finding(
                "PSI111", split.section.path, f"`{split.name}`: "
                f"{_files_text([f.label for f in bad], len(split.files))} fit no multi-label "
                f"layout, e.g. {bad[0].layout_problem}",
                "save each label as an (H, C*W) strip of its image (PaddleSeg's layout), or "
                "as an (H, W, C) .npy", [f.label for f in bad[:MAX_FILES]])
        odd = [f for f in split.files if f.num_labels and f.num_labels != split.num_labels]
        if odd:
            files = _files_text([f.label for f in odd], len(split.files))
            yield ctx.finding(
                "PSI111", split.section.path, f"`{split.name}`: most files hold "
                f"{split.num_labels} labels but {files} hold another number (e.g. "
                f"{odd[0].num_labels})",
                "give every file the same labels", [f.label for f in odd[:MAX_FILES]])


def _class_names(ctx, split):
    """Names of the counted classes: the config's `class_names` (multi-label: the dataset's
    `label_names`) when they fit, else the indices."""
    names = split.section.cfg.get("label_names") if split.multilabel \
        else ctx.config.get("class_names")
    count = len(split.stats.pixel_counts)
    if isinstance(names, list) and len(names) == count:
        return [str(n) for n in names]
    return [str(c) for c in range(count)]


def _no_foreground(split):
    counts = split.stats.pixel_counts
    foreground = counts if split.multilabel else counts[1:]
    return split.stats.num_images > 0 and not foreground.any()


def absent_classes(ctx):
    """PSI106: a class (label) that never occurs in a split."""
    for split in _scanned(ctx):
        if split.stats is None or (split.name == "val_dataset" and _no_foreground(split)) \
                or _is_255_binary(split):
            continue
        names = _class_names(ctx, split)
        absent = [names[c] for c, count in enumerate(split.stats.pixel_counts) if count == 0]
        if absent and split.stats.num_images:
            if len(absent) == 1:
                what = f"{'label' if split.multilabel else 'class'} {absent[0]} never occurs"
            else:
                what = (f"{'labels' if split.multilabel else 'classes'} {', '.join(absent)} "
                        "never occur")
            yield ctx.finding(
                "PSI106", split.section.path + ("num_classes",),
                f"`{split.name}`: {what} in its {split.stats.num_images} label files",
                "check num_classes and the label values (a remap or a missing class?); a class "
                "absent from train is never learned, absent from val never measured")


def val_no_foreground(ctx):
    """PSI107: the val labels hold no foreground."""
    split = ctx.data.get("val_dataset")
    if split is None or not split.files or split.stats is None or _is_255_binary(split):
        return
    if _no_foreground(split):
        yield ctx.finding(
            "PSI107", split.section.path, f"`val_dataset`: none of its "
            f"{split.stats.num_images} labels holds any foreground: mIoU only measures the "
            "background (and PaddleSeg 2.9+ reports IoU 1 for absent classes)",
            "put images with foreground into the val list")


def ignore_share(ctx):
    """PSI108: ignore_index covers more than 30 % of the pixels."""
    for split in _scanned(ctx):
        stats = split.stats
        if stats is None or split.multilabel or _is_255_binary(split):
            continue
        total = stats.valid_pixels + stats.ignored_pixels
        if total and stats.ignored_pixels / total > IGNORE_SHARE_LIMIT:
            yield ctx.finding(
                "PSI108", split.section.path + ("ignore_index",),
                f"`{split.name}`: ignore_index {split.ignore_index} covers "
                f"{stats.ignored_pixels / total:.0%} of the label pixels: those pixels are "
                "never trained or evaluated. Is background stored as "
                f"{split.ignore_index}?",
                f"if {split.ignore_index} is background, remap it to class 0:\n"
                + _remap_fix(ctx, {split.ignore_index: 0}))


def transform_dry_run(ctx):
    """PSI109 / PSI110: the train transforms make new label values, or fail."""
    split = ctx.data.get("train_dataset")
    if split is None:
        return
    path = split.section.path + ("transforms",)
    for code in ("PSI109", "PSI110"):
        problems = [p for p in split.dry_run if p.code == code]
        if not problems:
            continue
        files = [p.file for p in problems if p.file]
        if code == "PSI109":
            yield ctx.finding(
                code, path, f"the train transforms made label values that are not in the "
                f"files: {problems[0].message} ({problems[0].file})",
                "resize labels with nearest-neighbour only and pad them with ignore_index "
                "(label_padding_value); see PSI030/PSI031", files)
        else:
            yield ctx.finding(code, path, f"running train samples through the transforms "
                              f"failed: {problems[0].message}",
                              "fix the transform named in the error (or the data it reads)",
                              files)


def output_stride_vs_width(ctx):
    """PSI115: the model predicts at a coarser stride than the thinnest class's median width."""
    model = ctx.section("model")
    stride = output_stride(model)
    split = ctx.data.get("train_dataset")
    if stride is None or split is None or split.widths is None:
        return
    widths = split.widths
    thinnest = widths.thinnest()
    if thinnest is None or widths.needed_stride(thinnest) >= stride:
        return
    needed = widths.needed_stride(thinnest)
    name = _class_names(ctx, split)[thinnest]
    what = "label" if split.multilabel else "class"
    yield ctx.finding(
        "PSI115", ("model", "backbone_indices"),
        f"the model predicts at 1/{stride} of the input ({model.get('type')}, "
        f"backbone_indices {selected_backbone_stages(model)}), but {what} {name}'s "
        f"structures are {widths.median(thinnest):g} px wide (median local width; "
        f"{widths.thin_share(thinnest):.0%} of its pixels lie on structures <= "
        f"{THIN_WIDTH} px): a stride-{stride} logit map cannot draw them, they need stride "
        f"{needed} or finer (`paddleseg-imbalance stats` prints the widths per class)",
        _finer_stride_fix(model, needed))


def _finer_stride_fix(model, needed):
    """PPLiteSeg YAML that moves the main head to the backbone stage at stride `needed`
    (STDC's finest stage, 1/2, if `needed` is finer): one more stage, argument entry and
    loss per halving."""
    indices = selected_backbone_stages(model)
    first = max(needed.bit_length() - 2, 0)  # stage i is at stride 2 ** (i + 1)
    added = indices[0] - first
    lines = ["predict at a finer stride: select the finer backbone stages (the main head "
             "comes from the first), with one entry per stage in the per-stage arguments",
             "model:", f"  backbone_indices: {list(range(first, indices[0])) + indices}"]
    for argument, default in PER_STAGE_ARGUMENTS[model["type"]].items():
        values = model.get(argument, default)
        if isinstance(values, list) and len(values) == len(indices):
            lines.append(f"  {argument}: {values[:1] * added + values}")
    lines += ["loss:  # one loss per logit: the new main head first, then the current ones",
              f"  types: [<main-head loss>{', <loss>' * (added - 1)}, <current types...>]  "
              f"# {len(indices) + added} entries",
              f"  coef: [1{', 0.4' * (added - 1)}, <current coef...>]"]
    if 2 ** (first + 1) > needed:
        lines.append(f"(1/{2 ** (first + 1)} is the finest stage the backbone has)")
    return "\n".join(lines)


CHECKS = (missing_files, file_list_lines, label_values, binary_255, rgb_labels, jpeg_labels,
          labels_16_bit, label_sizes,
          multilabel_layout, absent_classes, val_no_foreground, ignore_share, transform_dry_run,
          output_stride_vs_width)
