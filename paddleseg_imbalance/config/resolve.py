"""Load a PaddleSeg YAML config with `_base_` inheritance, as PaddleSeg 2.8.0 does, without paddle.

`paddleseg.cvlibs.config` imports paddle at module level, so its `parse_from_yaml`,
`merge_config_dicts` and `update_config_dict` are mirrored here, rule for rule:

- `_base_` is a path (or a list of paths) relative to the including file; each base is
  loaded recursively and the including file is merged over it, the first base listed
  winning over later ones.
- Merging recurses into mappings present in both files; any other value (a list
  included) replaces the base's. A mapping with `_inherited_: false` replaces the
  base's mapping whole.
- `--opts key.sub=value` sets an existing path; the value goes through `literal_eval`.

On top of PaddleSeg, each key path remembers the file that set it, so a finding can
name the `_base_` file to edit, and a file that PaddleSeg would choke on (empty, not
UTF-8, a YAML syntax error, an alias bomb: see `yaml_reading`) is a `LintInputError`
naming it. The tools load every config through `resolve_config` first
(`engine.config.load_config`), so they refuse the same files with the same messages.
"""
import os
from ast import literal_eval
from dataclasses import dataclass, field

from paddleseg_imbalance.config.yaml_reading import YamlReadError, read_yaml_text

_INHERIT_KEY = "_inherited_"
_BASE_KEY = "_base_"
OPTS_ORIGIN = "--opts"


class LintInputError(ValueError):
    """The config cannot be linted at all (exit code 2): missing, empty, not YAML, too
    large once its aliases are expanded, bad `_base_`."""


@dataclass
class ResolvedConfig:
    """A config after `_base_` and `--opts`.

    Attributes:
        path: the file given.
        data: the merged dict, as PaddleSeg's `Config.dic` before its checker runs.
        origins: {key path tuple: file that set it} for every mapping key.
        files: every file read, the given one first.
        key_names: {key path tuple: the name findings give it} where that is not the path
            itself (a PaddleX config's keys, see `paddlex`).
        paddlex: whether `data` was read from a PaddleX 3 config.
    """

    path: str
    data: dict
    origins: dict = field(default_factory=dict)
    files: list = field(default_factory=list)
    key_names: dict = field(default_factory=dict)
    paddlex: bool = False

    def key_name(self, path):
        """How a finding names key `path`: its own name in the file, or `format_key`."""
        path = tuple(path)
        for length in range(len(path), 0, -1):
            if path[:length] in self.key_names:
                return self.key_names[path[:length]]
        return format_key(path)

    def origin(self, path):
        """The file that set `path` (a tuple of keys and list indices) or its nearest parent."""
        path = tuple(path)
        while path:
            if path in self.origins:
                return self.origins[path]
            path = path[:-1]
        return self.path


def format_key(path):
    """('loss', 'types', 0, 'weight') -> 'loss.types[0].weight'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _load_yaml(path, included_from=None):
    where = f" (`_base_` of {included_from})" if included_from else ""
    if not os.path.isfile(path):
        raise LintInputError(f"config file '{path}'{where} does not exist")
    if included_from is None and not str(path).endswith(("yml", "yaml")):
        raise LintInputError(f"config file '{path}'{where} is not YAML: PaddleSeg reads "
                             ".yml or .yaml files only")
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except UnicodeDecodeError as error:
        raise LintInputError(f"config file '{path}'{where} is not UTF-8 text ({error.reason} "
                             f"at byte {error.start}); save it as UTF-8") from error
    except OSError as error:
        raise LintInputError(f"config file '{path}'{where} cannot be read: "
                             f"{error.strerror}") from error
    try:
        data = read_yaml_text(text)
    except YamlReadError as error:
        raise LintInputError(f"config file '{path}'{where} is not a usable YAML config: "
                             f"{error}") from error
    if data is None:
        raise LintInputError(f"config file '{path}'{where} is empty; it needs the config keys "
                             "(model, loss, train_dataset, ...) or a `_base_` to inherit them")
    if not isinstance(data, dict):
        raise LintInputError(f"config file '{path}'{where} holds a {type(data).__name__}, not "
                             "a mapping of config keys (`key: value` lines)")
    return data


def _key_paths(value, prefix=()):
    """Every mapping key path in `value` (lists are leaves)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield prefix + (key,)
            yield from _key_paths(item, prefix + (key,))


def _exists(data, path):
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def merge_config_dicts(dic, base_dic):
    """`dic` merged over `base_dic` (PaddleSeg's `merge_config_dicts`)."""
    base_dic = base_dic.copy()
    dic = dic.copy()
    if not dic.get(_INHERIT_KEY, True):
        dic.pop(_INHERIT_KEY)
        return dic
    for key, val in dic.items():
        if isinstance(val, dict) and key in base_dic:
            base_dic[key] = merge_config_dicts(val, base_dic[key])
        else:
            base_dic[key] = val
    return base_dic


def _parse(path, chain):
    """(dict, origins, files) of `path` with its `_base_` files merged in."""
    if os.path.abspath(path) in chain:
        raise LintInputError(f"`_base_` cycle: {' -> '.join(chain + [os.path.abspath(path)])}")
    dic = _load_yaml(path, chain[-1] if chain else None)
    origins = {key: path for key in _key_paths(dic)}
    files = [path]
    if _BASE_KEY in dic:
        base_files = dic.pop(_BASE_KEY)
        origins.pop((_BASE_KEY,), None)
        if isinstance(base_files, str):
            base_files = [base_files]
        if not isinstance(base_files, list) or not all(isinstance(b, str) for b in base_files):
            raise LintInputError(f"`_base_` in '{path}' is {base_files!r}; expected a path or "
                                 "a list of paths relative to that file")
        for base_file in base_files:
            base_path = os.path.join(os.path.dirname(path), base_file)
            base_dic, base_origins, base_read = _parse(base_path, chain + [os.path.abspath(path)])
            dic = merge_config_dicts(dic, base_dic)
            # The including file wins; base keys that the merge replaced are gone.
            origins = {key: origin for key, origin in {**base_origins, **origins}.items()
                       if _exists(dic, key)}
            files += base_read
    return dic, origins, files


def apply_opts(resolved, opts):
    """Apply `--opts key=value` overrides in place (PaddleSeg's `update_config_dict`)."""
    for item in opts or []:
        if item.count("=") != 1:
            raise LintInputError(f"--opts entry '{item}' is not key=value; write e.g. "
                                 "--opts batch_size=4 train_dataset.mode=train")
        key, value = item.split("=")
        try:
            value = literal_eval(value)
        except (ValueError, SyntaxError):
            pass
        keys = key.split(".")
        node = resolved.data
        for sub in keys[:-1]:
            if not isinstance(node, dict) or sub not in node:
                raise LintInputError(f"--opts entry '{item}': cannot update `{key}`, because "
                                     f"`{sub}` is not in the config")
            node = node[sub]
        node[keys[-1]] = value
        resolved.origins[tuple(keys)] = OPTS_ORIGIN


def resolve_config(path, opts=None):
    """`ResolvedConfig` of the YAML file `path`, `_base_` files merged, `opts` applied.

    Raises:
        LintInputError: a file is missing or not YAML, `_base_` is malformed or cyclic, or
            an `--opts` entry is malformed.
    """
    path = str(path)
    data, origins, files = _parse(path, [])
    resolved = ResolvedConfig(path, data, origins, files)
    apply_opts(resolved, opts)
    return resolved
