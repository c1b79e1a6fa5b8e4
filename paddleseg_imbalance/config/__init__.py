"""The project's config layer: what a PaddleSeg config says, read without paddle.

Every other layer reads config facts from here instead of re-deriving them from
`Config.dic`:

- `resolve`, `yaml_reading`: loading with `_base_` and `--opts`, the file each key came
  from, and `format_key` (how a key path is written in messages);
- `sections`: the dataset sections with one unwrapping rule, and one multi-label predicate;
- `num_classes`: every place that states num_classes, and the one answer checks count against;
- `loss_entries`: the walk over loss entries, MixedLoss members and RampedLoss included;
- `file_list`: a dataset's file list, read as PaddleSeg's `Dataset` reads it;
- `file_probes`: what a data file's header says (an image's size);
- `errors`: `DataError`, the bad-input error of a dataset's files.

It sits at the bottom of the layers (see .importlinter; only `component_traits` is
below it): nothing here imports paddle or numpy, so the config-only lint stays fast
and paddle-free.
"""
