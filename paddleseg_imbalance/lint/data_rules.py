"""Data rules (`lint --scan-data`): what the label files hold, against what the config says.

`data_scan.scan_data` lists and reads each dataset section's files once, runs a few
train samples through the transforms (see `dry_run`), and stores a `SplitScan` per
section in `ctx.data`; the checks below only read those summaries. Importing this module
imports neither paddle nor numpy (`rules` lists these rules for `--list-rules`).
"""
from paddleseg_imbalance.component_traits import REMAP_TRANSFORM
from paddleseg_imbalance.config.sections import IGNORE_SHARE_LIMIT
from paddleseg_imbalance.lint.findings import ERROR, WARNING, Violation, rule
from paddleseg_imbalance.lint.model_outputs import (PER_STAGE_ARGUMENTS, output_stride,
                                                    selected_backbone_stages)

# Files named in a finding's `data_files` (and the first few in its message).
MAX_FILES = 10
_IN_MESSAGE = 3
# Beyond this many values to renumber, a RemapLabels mapping is not the fix.
MAX_REMAPPED = 16


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


@rule("PSI100", "missing-data-file", ERROR,
      "dataset_root, a file list, or an image or label file does not exist or is unreadable",
      "PaddleSeg opens the files lazily: a missing root or list fails when the dataset is "
      "built, a missing or undecodable image or label only when a data loader worker reaches "
      "it, possibly hours into training.",
      "fix the path (relative paths start from the working directory, as in PaddleSeg), or "
      "remove the file's line from the file list")
def missing_files(ctx):
    """The file list cannot be read, or files are missing or undecodable."""
    for split in ctx.data.values():
        error = split.listing_problem
        if error is not None:
            if error.missing:
                yield Violation(error.key, f"`{split.name}`: {error}", "fix the path (relative "
                                "paths start from the working directory, as in PaddleSeg)")
            continue
        bad = [f for f in split.files if f.problem]
        if bad:
            listed = [f"{f.problem_file} ({f.problem})" for f in bad]
            yield Violation(
                split.section.path, f"`{split.name}`: "
                f"{_files_text(listed, len(split.files))} cannot be read",
                "fix or remove these lines of the file list (paths are joined to "
                "dataset_root)", [f.problem_file for f in bad[:MAX_FILES]])


@rule("PSI112", "data-not-scanned", WARNING,
      "a dataset whose files the lint cannot list, so its data rules did not run",
      "The data rules read the files a dataset lists. A dataset without num_classes, with a "
      "`mode` other than train/val/test, or of a type that cannot be built to list its "
      "files is skipped, so none of the data rules speaks for it.",
      "fix the dataset's config as the finding says (add num_classes, set mode)")
def data_not_scanned(ctx):
    """A dataset whose files were not listed or not scanned."""
    for split in ctx.data.values():
        error = split.listing_problem
        if error is not None:
            if not error.missing:
                yield Violation(error.key, f"`{split.name}`: {error}",
                                "the data rules skipped this dataset; check its config")
        elif not split.multilabel and split.num_classes is None:
            yield Violation(split.section.path, f"`{split.name}` has no num_classes, so its "
                            "labels were not scanned", "add num_classes to the dataset")


@rule("PSI114", "file-list-line", ERROR,
      "file-list lines that are not 'image label' (a missing or third column, a space in a "
      "path, a blank line), or a list naming no sample",
      "PaddleSeg's Dataset splits each line of the file list at the dataset's `separator` "
      "and stops at the first line that does not give exactly an image and a label path "
      "(a blank line, a path with a space), or trains on nothing.",
      "write one 'image_path label_path' line per sample, paths relative to dataset_root, "
      "separated by the dataset's `separator`")
def file_list_lines(ctx):
    """File-list lines PaddleSeg's `Dataset` rejects, or a list naming no sample."""
    for split in ctx.data.values():
        for key, list_path, problems in split.line_problems:
            yield Violation(
                key, f"`{split.name}`: '{list_path}': {len(problems)} problem(s): "
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


@rule("PSI101", "label-value-out-of-range", ERROR,
      "label values >= num_classes that are not ignore_index",
      "Cross-entropy indexes the logits with each label value: a value >= num_classes that "
      "is not ignore_index fails with a device-side assertion on the GPU, or reads out of "
      "bounds. Multi-label labels must be 0/1.",
      "renumber the values with a RemapLabels mapping first in the transforms (the finding "
      "gives it), or raise num_classes when the labels hold classes 0..K-1")
def label_values(ctx):
    """Label values >= num_classes (multi-label: other than 0/1) that are not ignored."""
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
            yield Violation(
                key, f"`{split.name}`: multi-label labels must be 0/1 (or "
                f"ignore_index {split.ignore_index}); found {top_text} in {files}",
                "save each label channel as 0/1", data_files)
            continue
        yield Violation(
            key, f"`{split.name}`: label values {top_text} are >= num_classes "
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


@rule("PSI102", "binary-mask-255-ignored", ERROR,
      "0/255 binary masks while 255 is ignore_index: the model never sees foreground",
      "Binary masks saved as 0/255 with PaddleSeg's default ignore_index 255 ignore every "
      "foreground pixel: the model trains on background only (loss near 0, mIoU 0.5 or "
      "1.0, all-black predictions), without an error.",
      "map 255 to class 1 with `RemapLabels` (mapping {255: 1}) first in the transforms of "
      "every dataset, or re-save the masks as 0/1")
def binary_255(ctx):
    """0/255 masks while 255 is ignore_index: foreground is never trained."""
    for split in _scanned(ctx):
        if _is_255_binary(split):
            yield Violation(
                split.section.path + ("transforms",),
                f"`{split.name}`: {BINARY_255_PROBLEM}",
                _remap_fix(ctx, BINARY_255_MAPPING, BINARY_255_NOTE),
                [f.label for f in split.files[:MAX_FILES] if f.stats is not None])


@rule("PSI103", "rgb-label", ERROR,
      "RGB (colour-coded) label files, which PaddleSeg reads as 3 channels",
      "PaddleSeg reads a label file as class indices; a colour-coded RGB label gives three "
      "channels of colour values, which the loss cannot use as classes.",
      "convert each colour to its class index and save single-channel (or palette) PNGs; "
      "the finding lists the colours found with a suggested index")
def rgb_labels(ctx):
    """Colour-coded labels; the fix lists the colours found and an index for each."""
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
        yield Violation(
            split.section.path, f"`{split.name}`: "
            f"{_files_text([f.label for f in coloured], len(split.files))} are colour-coded "
            f"(shape {shape}): PaddleSeg reads them as {shape[-1]} channels, not class indices",
            "convert each colour to its class index and save single-channel (or palette, "
            "mode P) PNGs; the colours found, with a suggested index:\n" + table + more,
            [f.label for f in coloured[:MAX_FILES]])


@rule("PSI104", "jpeg-label", WARNING,
      "JPEG label files: lossy compression adds label values at edges",
      "JPEG compression is lossy: along every edge it writes values between the classes, "
      "which become other classes or values out of range.",
      "save labels as PNG (lossless)")
def jpeg_labels(ctx):
    """JPEG label files."""
    for split in _scanned(ctx):
        jpegs = [f.label for f in split.files if f.jpeg]
        if jpegs:
            yield Violation(
                split.section.path, f"`{split.name}`: "
                f"{_files_text(jpegs, len(split.files))} are JPEG: lossy compression adds "
                "label values along every edge", "save labels as PNG (lossless)",
                jpegs[:MAX_FILES])


@rule("PSI113", "label-16-bit", WARNING,
      "16-bit label PNGs: PaddleSeg alone hands them to Paddle as bfloat16 (all background)",
      "PaddleSeg reads 16-bit PNGs as uint16, which Paddle takes for bfloat16 when it makes "
      "the batch tensor, so small class indices become 0: all background. This plugin's "
      "tools repair that; PaddleSeg alone does not.",
      "train with this plugin's tools, or save the labels as 8-bit PNGs")
def labels_16_bit(ctx):
    """16-bit label PNGs, which PaddleSeg alone trains as all background."""
    for split in _scanned(ctx):
        wide = [f.label for f in split.files if f.uint16]
        if wide:
            yield Violation(
                split.section.path, f"`{split.name}`: "
                f"{_files_text(wide, len(split.files))} are 16-bit: PaddleSeg reads them as "
                "uint16, which Paddle takes for bfloat16 when it makes the batch tensor, so "
                "small class indices become 0 (all background)",
                "the plugin's tools read them as integers (its label-bit-depth repair of "
                "PaddleSeg 2.8); for PaddleSeg without the plugin, save them as 8-bit PNGs "
                "(e.g. Image.fromarray(label.astype('uint8')))", wide[:MAX_FILES])


@rule("PSI105", "label-size-mismatch", ERROR,
      "label and image sizes differ (after the image's EXIF orientation)",
      "An image and its label must have the same size for every transform to keep them "
      "aligned. cv2.imread applies the image's EXIF orientation, so a photo rotated by its "
      "EXIF tag no longer matches a label drawn on the stored pixels.",
      "make each label the size of its image (re-export it, or strip the image's EXIF "
      "orientation after rotating its pixels)")
def label_sizes(ctx):
    """Label and image sizes differ (class maps), EXIF orientation applied."""
    for split in _scanned(ctx):
        if split.multilabel:
            continue
        bad = [f for f in split.files if f.label_shape is not None and f.image_hw is not None
               and tuple(f.label_shape[:2]) != tuple(f.image_hw)]
        if bad:
            first = bad[0]
            yield Violation(
                split.section.path, f"`{split.name}`: "
                f"{_files_text([f.label for f in bad], len(split.files))} differ in size from "
                f"their image, e.g. label {first.label_shape[0]}x{first.label_shape[1]} and "
                f"image {first.image_hw[0]}x{first.image_hw[1]} (HxW, the image's EXIF "
                "orientation applied as cv2.imread applies it)",
                "make each label the size of its image (re-export it, or strip the image's "
                "EXIF orientation after rotating its pixels)", [f.label for f in bad[:MAX_FILES]])


@rule("PSI111", "multilabel-layout", ERROR,
      "multi-label files that fit no PaddleSeg layout, or disagree on the number of labels",
      "A multi-label label is read as (H, C*W) or (C*H, W) strips of its image, or as an "
      "(H, W, C) array; a file of another shape, or one with another number of labels than "
      "the rest, cannot be split into the label channels.",
      "save each label as an (H, C*W) strip of its image (PaddleSeg's layout), or as an "
      "(H, W, C) .npy, with the same labels in every file")
def multilabel_layout(ctx):
    """Multi-label files that fit no layout, or imply different label counts."""
    for split in _scanned(ctx):
        if not split.multilabel:
            continue
        bad = [f for f in split.files if f.layout_problem]
        if bad:
            yield Violation(
                split.section.path, f"`{split.name}`: "
                f"{_files_text([f.label for f in bad], len(split.files))} fit no multi-label "
                f"layout, e.g. {bad[0].layout_problem}",
                "save each label as an (H, C*W) strip of its image (PaddleSeg's layout), or "
                "as an (H, W, C) .npy", [f.label for f in bad[:MAX_FILES]])
        odd = [f for f in split.files if f.num_labels and f.num_labels != split.num_labels]
        if odd:
            files = _files_text([f.label for f in odd], len(split.files))
            yield Violation(
                split.section.path, f"`{split.name}`: most files hold "
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


@rule("PSI106", "class-never-occurs", WARNING,
      "a class (or label) that never occurs in the train or val labels",
      "A class absent from the train labels is never learned; absent from the val labels, "
      "it is never measured (and its IoU is reported as 0, or as 1 by PaddleSeg 2.9+). It "
      "often means a wrong num_classes or a missing remap.",
      "check num_classes and the label values (a remap or a missing class?)")
def absent_classes(ctx):
    """A class (label) that never occurs in a split."""
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
            yield Violation(
                split.section.path + ("num_classes",),
                f"`{split.name}`: {what} in its {split.stats.num_images} label files",
                "check num_classes and the label values (a remap or a missing class?); a class "
                "absent from train is never learned, absent from val never measured")


@rule("PSI107", "val-no-foreground", WARNING,
      "the val labels hold no foreground at all",
      "Without foreground in the val labels, mIoU measures the background only (and "
      "PaddleSeg 2.9+ reports IoU 1 for absent classes): the evaluation says nothing about "
      "the classes being trained.",
      "put images with foreground into the val list")
def val_no_foreground(ctx):
    """The val labels hold no foreground."""
    split = ctx.data.get("val_dataset")
    if split is None or not split.files or split.stats is None or _is_255_binary(split):
        return
    if _no_foreground(split):
        yield Violation(
            split.section.path, f"`val_dataset`: none of its "
            f"{split.stats.num_images} labels holds any foreground: mIoU only measures the "
            "background (and PaddleSeg 2.9+ reports IoU 1 for absent classes)",
            "put images with foreground into the val list")


@rule("PSI108", "ignore-share-high", WARNING,
      "ignore_index covers more than 30 % of the labelled pixels",
      "Ignored pixels are never trained or evaluated. When ignore_index covers a large share "
      "of the pixels, the background is often stored as the ignore value (255) by mistake.",
      "if the ignored value is background, remap it to class 0 with RemapLabels")
def ignore_share(ctx):
    """Ignore_index covers more than 30 % of the pixels."""
    for split in _scanned(ctx):
        stats = split.stats
        if stats is None or split.multilabel or _is_255_binary(split):
            continue
        total = stats.valid_pixels + stats.ignored_pixels
        if total and stats.ignored_pixels / total > IGNORE_SHARE_LIMIT:
            yield Violation(
                split.section.path + ("ignore_index",),
                f"`{split.name}`: ignore_index {split.ignore_index} covers "
                f"{stats.ignored_pixels / total:.0%} of the label pixels: those pixels are "
                "never trained or evaluated. Is background stored as "
                f"{split.ignore_index}?",
                f"if {split.ignore_index} is background, remap it to class 0:\n"
                + _remap_fix(ctx, {split.ignore_index: 0}))


def _dry_run_problems(ctx, code):
    """(transforms key path, the train dry run's problems tagged `code`) or None."""
    split = ctx.data.get("train_dataset")
    problems = [p for p in split.dry_run if p.code == code] if split is not None else []
    return (split.section.path + ("transforms",), problems) if problems else None


@rule("PSI109", "transform-new-label-values", ERROR,
      "the train transforms produce label values that are not in the label files",
      "A few train samples are run through the transforms: a label value that no file holds "
      "comes from a non-nearest resize or a pad value other than ignore_index, and is "
      "trained as a class (or fails the loss).",
      "resize labels with nearest-neighbour only and pad them with ignore_index "
      "(label_padding_value); see PSI030/PSI031")
def transform_new_label_values(ctx):
    """The train transforms make label values no label file holds."""
    found = _dry_run_problems(ctx, "PSI109")
    if found:
        path, problems = found
        yield Violation(
            path, f"the train transforms made label values that are not in the files: "
            f"{problems[0].message} ({problems[0].file})",
            "resize labels with nearest-neighbour only and pad them with ignore_index "
            "(label_padding_value); see PSI030/PSI031", [p.file for p in problems if p.file])


@rule("PSI110", "transform-dry-run-failed", ERROR,
      "running samples through the train transforms raised an error",
      "A few train samples are run through the dataset and its transforms as PaddleSeg's "
      "data loader would; an error there stops training at its first batch (in a worker "
      "process, where the traceback is hard to read).",
      "fix the transform named in the error, or the data it reads")
def transform_dry_run_failed(ctx):
    """Running train samples through the transforms failed."""
    found = _dry_run_problems(ctx, "PSI110")
    if found:
        path, problems = found
        yield Violation(path, f"running train samples through the transforms failed: "
                        f"{problems[0].message}",
                        "fix the transform named in the error (or the data it reads)",
                        [p.file for p in problems if p.file])


@rule("PSI115", "output-stride-too-coarse", WARNING,
      "the model predicts at a stride coarser than the thinnest class's median structure "
      "width (`stats` prints the widths)",
      "A model that predicts at 1/8 of the input cannot draw structures a few pixels wide "
      "(roads, cracks, vessels): upsampled stride-8 logits blur them away, whatever the "
      "loss. The median local width of each class's structures is measured on the train "
      "labels.",
      "predict at a finer stride: select finer backbone stages (PP-LiteSeg "
      "`backbone_indices`), with one per-stage argument entry and one loss per added stage")
def output_stride_vs_width(ctx):
    """The model predicts at a coarser stride than the thinnest class's median width."""
    model = ctx.section("model")
    stride = output_stride(model)
    split = ctx.data.get("train_dataset")
    if stride is None or split is None or split.widths is None:
        return
    widths = split.widths
    thinnest = widths.thinnest()
    if thinnest is None or widths.needed_stride(thinnest) >= stride:
        return
    from paddleseg_imbalance.analysis.structure_width import THIN_WIDTH  # imports numpy

    needed = widths.needed_stride(thinnest)
    name = _class_names(ctx, split)[thinnest]
    what = "label" if split.multilabel else "class"
    yield Violation(
        ("model", "backbone_indices"),
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


RULES = (missing_files, data_not_scanned, file_list_lines, label_values, binary_255,
         rgb_labels, jpeg_labels, labels_16_bit, label_sizes, multilabel_layout,
         absent_classes, val_no_foreground, ignore_share, transform_new_label_values,
         transform_dry_run_failed, output_stride_vs_width)
