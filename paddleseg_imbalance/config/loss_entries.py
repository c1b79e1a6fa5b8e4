"""Where loss entries nest: the members of a `MixedLoss` and the loss a `RampedLoss` weights.

One walk serves the config (mappings, for the lint and `weight: auto`) and the built
losses (layers, for `weight: batch` hooks and the ramps), so both see the same entries
under the same key paths.
"""
NESTED = {"MixedLoss": "losses", "RampedLoss": "loss"}


def _get(entry, key):
    return entry.get(key) if isinstance(entry, dict) else getattr(entry, key, None)


def _type_name(entry):
    return entry.get("type") if isinstance(entry, dict) else type(entry).__name__


def _members(entry, path):
    key = NESTED.get(_type_name(entry))
    value = _get(entry, key) if key else None
    if key == "losses":
        return [(path + (key, j), member)
                for j, member in enumerate(value if isinstance(value, list) else [])]
    return [(path + (key,), value)] if value is not None else []


def _walk(entry, path):
    if not (isinstance(entry, dict) or callable(entry)):
        return  # a malformed config entry: the lint and PaddleSeg's builder report it
    yield path, entry
    for member_path, member in _members(entry, path):
        yield from _walk(member, member_path)


def walk_loss_entries(types, prefix=("loss", "types")):
    """(key path, entry) of every loss in `types`, nested ones after their parent.

    `types` is a config's `loss.types` list, whose entries come out as mappings (anything
    else is skipped), or the built losses, which come out as layers. Key paths are tuples
    such as ("loss", "types", 0, "losses", 3, "loss"), in build order.
    """
    for i, entry in enumerate(types if isinstance(types, list) else []):
        yield from _walk(entry, prefix + (i,))
