"""The component names a config may use in `type:`, per manager, without importing paddle.

Config-only linting must not import paddle, yet PaddleSeg's component managers are
filled by importing it. So `known_components.json` is a snapshot of the names that
PaddleSeg 2.8.0 and this plugin register (models, backbones, datasets, transforms,
losses, optimizers, evaluators), plus the class constants (`NUM_CLASSES`,
`IGNORE_INDEX`, `IMG_CHANNELS`) of the built-in datasets, which PaddleSeg uses in place
of the config's values for any dataset type other than `Dataset`.

When the plugin registers a new component, refresh the snapshot:

    python -m paddleseg_imbalance.lint.known_components --write

(`--check` exits 1 when it is stale; tests/test_lint.py runs the same comparison.) When
paddle is imported anyway (`lint --scan-data`, the training tools), `from_managers`
reads the live managers instead, so components registered by other imports count too.
"""
import argparse
import json
import os
import sys
from dataclasses import dataclass
from functools import lru_cache

SNAPSHOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known_components.json")
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
    args = parser.parse_args(argv)
    live = from_managers()
    if args.write:
        with open(SNAPSHOT, "w", encoding="utf-8") as file:
            json.dump(live.to_json(), file, indent=1)
            file.write("\n")
        print(f"wrote {SNAPSHOT}")
        return 0
    if live == load_snapshot():
        print(f"{SNAPSHOT} is up to date")
        return 0
    print(f"{SNAPSHOT} is stale; run python -m paddleseg_imbalance.lint.known_components --write")
    return 1


if __name__ == "__main__":
    sys.exit(main())
