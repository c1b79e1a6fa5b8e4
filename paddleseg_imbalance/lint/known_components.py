"""The component names a config may use in `type:`, per manager, without importing paddle.

Config-only linting must not import paddle, yet PaddleSeg's component managers are
filled by importing it. So the names are read from source text instead
(`source_scan`): the installed PaddleSeg's files (found with `importlib.util.find_spec`,
which does not execute the package), this plugin's, and any module the user names
(`lint --components`). `installed()` does that once per process and falls back to
`known_components.json`, a snapshot of what PaddleSeg 2.8.0 and this plugin register
(models, backbones, datasets, transforms, losses, optimizers, evaluators, plus the class
constants `NUM_CLASSES`, `IGNORE_INDEX`, `IMG_CHANNELS` of the built-in datasets, which
PaddleSeg uses in place of the config's values for any dataset type other than `Dataset`),
when PaddleSeg's source cannot be found.

`paddleseg_lines.json` holds the names that only one PaddleSeg line registers (2.8.0
or develop), so that an unknown type can say which line has it, offline.

When the plugin registers a new component, refresh both snapshots (with 2.8.0 installed;
`--develop-wheel` defaults to ../shared/paddleseg-develop/*.whl next to the repository):

    python -m paddleseg_imbalance.lint.known_components --write

(`--check` exits 1 when the component snapshot is stale; tests/test_lint.py runs the same
comparison.) When paddle is imported anyway (`lint --scan-data`, the training tools),
`from_managers` reads the live managers instead, so components registered by other
imports count too.
"""
import argparse
import glob
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from functools import lru_cache

from paddleseg_imbalance.lint import source_scan

HERE = os.path.dirname(os.path.abspath(__file__))
SNAPSHOT = os.path.join(HERE, "known_components.json")
LINES = os.path.join(HERE, "paddleseg_lines.json")
PLUGIN_DIR = os.path.dirname(HERE)
# The develop wheel that `--write` compares with, next to the repository (see its README).
DEFAULT_DEVELOP_WHEEL = os.path.join(os.path.dirname(os.path.dirname(PLUGIN_DIR)), "shared",
                                     "paddleseg-develop", "paddleseg-0.0.0.dev0-py3-none-any.whl")
MANAGERS = ("models", "backbones", "datasets", "transforms", "losses", "optimizers",
            "evaluators")


@dataclass(frozen=True)
class KnownComponents:
    """Registered names per manager, and the class constants of built-in datasets.

    Attributes:
        names: {manager: sorted tuple of names}, managers as in `MANAGERS`.
        dataset_constants: {dataset type: {"num_classes", "ignore_index", "img_channels"}}
            for dataset classes that define them.
        paddleseg_version: the PaddleSeg version the names were read from.
    """

    names: dict
    dataset_constants: dict
    paddleseg_version: str

    def all_names(self):
        """Every registered name: PaddleSeg's builder looks a nested `type` up in all managers."""
        return sorted({name for names in self.names.values() for name in names})

    def to_json(self):
        return {"paddleseg_version": self.paddleseg_version,
                "refresh": "python -m paddleseg_imbalance.lint.known_components --write",
                "names": {manager: list(self.names[manager]) for manager in MANAGERS},
                "dataset_constants": self.dataset_constants}

    @classmethod
    def from_json(cls, data):
        return cls({manager: tuple(data["names"][manager]) for manager in MANAGERS},
                   data["dataset_constants"], data["paddleseg_version"])


@lru_cache(maxsize=1)
def load_snapshot():
    """`KnownComponents` from the shipped `known_components.json`."""
    with open(SNAPSHOT, encoding="utf-8") as file:
        return KnownComponents.from_json(json.load(file))


def line_name(version):
    """The PaddleSeg line a version belongs to: source builds of develop report 0.0.0.devN."""
    return "develop" if str(version).startswith("0.0.0") else str(version)


def installed_paddleseg_dir():
    """The installed `paddleseg` package folder, found without executing it; None if absent."""
    try:
        spec = importlib.util.find_spec("paddleseg")
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return locations[0] if locations and os.path.isdir(locations[0]) else None


def module_source(name):
    """The file or folder of a module given as a path or a dotted name (without running it).

    Raises:
        ValueError: neither a path nor an importable module name.
    """
    if os.path.exists(name):
        return name
    top, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        base = (list(spec.submodule_search_locations or []) or [spec.origin])[0]
        path = os.path.join(base, *rest)
        for candidate in ([base] if not rest else [path + ".py", path]):
            if candidate and os.path.exists(candidate):
                return candidate
    raise ValueError(f"'{name}' is neither a file or folder nor a module on the Python path")


def _merge(into, names, constants):
    for manager, found in names.items():
        into[0][manager].update(found)
    into[1].update(constants)


@lru_cache(maxsize=8)
def installed(sources=()):
    """`KnownComponents` of the installed PaddleSeg, this plugin and the modules `sources`
    (paths or module names), read from their source text; the snapshot stands in for
    PaddleSeg and the plugin when PaddleSeg's source is not found. Cached per process.

    Raises:
        ValueError: a name in `sources` is not found.
    """
    found = ({manager: set() for manager in MANAGERS}, {})
    paddleseg_dir = installed_paddleseg_dir()
    scanned = source_scan.scan_directory(paddleseg_dir) if paddleseg_dir else None
    if scanned and any(scanned[0].values()):
        _merge(found, *scanned)
        _merge(found, *source_scan.scan_directory(PLUGIN_DIR))
        with open(os.path.join(paddleseg_dir, "__init__.py"), encoding="utf-8") as file:
            version = source_scan.package_version(file.read()) or "unknown"
    else:
        snapshot = load_snapshot()
        _merge(found, {m: set(n) for m, n in snapshot.names.items()},
               snapshot.dataset_constants)
        version = snapshot.paddleseg_version
    for source in sources:
        _merge(found, *source_scan.scan_directory(module_source(source)))
    return KnownComponents({manager: tuple(sorted(found[0][manager])) for manager in MANAGERS},
                           dict(sorted(found[1].items())), version)


@lru_cache(maxsize=1)
def load_lines():
    """{line: {"version", "names"}}: the names only that PaddleSeg line registers."""
    with open(LINES, encoding="utf-8") as file:
        return json.load(file)["lines"]


def other_line_names(installed_version):
    """{name: line} of the names that only another PaddleSeg line than the installed registers."""
    return {name: line for line, entry in load_lines().items()
            if line != line_name(installed_version) for name in entry["names"]}


def other_line(name, installed_version):
    """The PaddleSeg line (other than the installed one) that alone registers `name`, or None."""
    return other_line_names(installed_version).get(name)


def lines_from(installed_dir, wheel):
    """The `paddleseg_lines.json` document: names only the installed PaddleSeg registers and
    names only the develop `wheel` registers, across all managers."""
    names, _ = source_scan.scan_directory(installed_dir)
    with open(os.path.join(installed_dir, "__init__.py"), encoding="utf-8") as file:
        version = source_scan.package_version(file.read())
    develop_names, _, develop_version = source_scan.scan_wheel(wheel)
    ours = {n for found in names.values() for n in found}
    theirs = {n for found in develop_names.values() for n in found}
    if line_name(version) == line_name(develop_version):
        raise ValueError(f"the installed PaddleSeg {version} is the wheel's line; install "
                         "2.8.0 to compare")
    return {"refresh": "python -m paddleseg_imbalance.lint.known_components --write",
            "lines": {line_name(version): {"version": version, "names": sorted(ours - theirs)},
                      line_name(develop_version): {"version": develop_version,
                                                   "names": sorted(theirs - ours)}}}


def _class_constant(cls, name):
    # Read the class dicts along the MRO: a dataset wrapper's metaclass turns a plain
    # getattr of these names into an error, and a wrapper has no constants of its own.
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


def from_managers():
    """`KnownComponents` read from the live managers (imports paddle and the plugin)."""
    import paddleseg
    from paddleseg.cvlibs import manager

    import paddleseg_imbalance

    managers = {"models": manager.MODELS, "backbones": manager.BACKBONES,
                "datasets": manager.DATASETS, "transforms": manager.TRANSFORMS,
                "losses": manager.LOSSES, "optimizers": manager.OPTIMIZERS,
                "evaluators": paddleseg_imbalance.EVALUATORS}
    names = {key: tuple(sorted(managers[key].components_dict)) for key in MANAGERS}
    constants = {}
    for name, cls in sorted(manager.DATASETS.components_dict.items()):
        values = {key: _class_constant(cls, attribute) for key, attribute in
                  (("num_classes", "NUM_CLASSES"), ("ignore_index", "IGNORE_INDEX"),
                   ("img_channels", "IMG_CHANNELS"))}
        if values["num_classes"] is not None:
            constants[name] = values
    return KnownComponents(names, constants, paddleseg.__version__)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Refresh or check the snapshot of registered "
                                     "component names that config-only lint uses.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help=f"Rewrite {SNAPSHOT}.")
    group.add_argument("--check", action="store_true", help="Exit 1 if the snapshot is stale.")
    parser.add_argument("--develop-wheel", default=DEFAULT_DEVELOP_WHEEL,
                        help=f"PaddleSeg develop wheel for {LINES} (default: %(default)s).")
    args = parser.parse_args(argv)
    live = from_managers()
    if args.write:
        documents = [(SNAPSHOT, live.to_json())]
        if glob.glob(args.develop_wheel):
            documents.append((LINES, lines_from(installed_paddleseg_dir(),
                                                glob.glob(args.develop_wheel)[0])))
        else:
            print(f"no develop wheel at {args.develop_wheel}: {LINES} left as it is")
        for path, document in documents:
            with open(path, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=1)
                file.write("\n")
            print(f"wrote {path}")
        return 0
    if live == load_snapshot():
        print(f"{SNAPSHOT} is up to date")
        return 0
    print(f"{SNAPSHOT} is stale; run python -m paddleseg_imbalance.lint.known_components --write")
    return 1


if __name__ == "__main__":
    sys.exit(main())
