"""The project's config layer: what a PaddleSeg config says, read without paddle.

Every other layer reads config facts from here: loading with `_base_` and `--opts` and
the file each key came from (`resolve`, `yaml_reading`), key formatting
(`resolve.format_key`), the loss-entry walk (`loss_entries`), the dataset sections
(`sections`) and what a data file's header says (`file_probes`). Nothing here imports
paddle, numpy or another layer of the package.
"""
