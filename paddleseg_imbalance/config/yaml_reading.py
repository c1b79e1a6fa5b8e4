"""Read one YAML config file into Python objects, refusing what would blow up later.

YAML aliases let a few lines stand for an exponential number of nodes ("billion
laughs": 9 lists of 9 aliases of the list before make 9**9). PyYAML builds such a
document cheaply, sharing the aliased objects, but PaddleSeg prints the config with a
dumper that expands every alias, and merge keys (`<<: [*a, *a]`) expand while loading:
minutes and gigabytes before a MemoryError. So the size of the document with every
alias expanded is counted on the parser's events (no objects built, no recursion)
before it is loaded, and a document past `MAX_NODES` nodes, nested past `MAX_DEPTH`
or holding an alias inside the collection it names is refused.
"""
import yaml

# A large real config (ADE20K's 150 class names, long transform lists) has a few
# thousand nodes; PaddleSeg prints 100 000 in a few seconds.
MAX_NODES = 100_000
# Real configs nest under 10 levels; the checks that walk a config recurse.
MAX_DEPTH = 100
# PaddleSeg loads with FullLoader; the libyaml flavour parses the same, faster.
LOADER = getattr(yaml, "CFullLoader", yaml.FullLoader)


class YamlReadError(ValueError):
    """The text is not a YAML document that can be read safely; the message says where."""


def _where(mark):
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def check_expanded_size(text, max_nodes=MAX_NODES, max_depth=MAX_DEPTH):
    """Raise `YamlReadError` if `text` holds a recursive alias, nests past `max_depth`, or
    has more than `max_nodes` nodes once its aliases are expanded."""
    sizes = {}  # anchor -> expanded node count of the node it names
    open_collections = []  # [anchor, expanded node count so far] of each open collection
    for event in yaml.parse(text, Loader=LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_collections) == max_depth:
                raise YamlReadError(f"{_where(event.start_mark)}: nested more than "
                                    f"{max_depth} levels deep; a config nests a few levels")
            open_collections.append([event.anchor, 1])
            continue
        if isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in open_collections):
                raise YamlReadError(f"{_where(event.start_mark)}: the alias *{event.anchor} "
                                    f"is inside the collection &{event.anchor} it names, "
                                    "which makes the config infinitely deep")
            anchor, size = None, sizes.get(event.anchor, 1)  # undefined: fails when loading
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = open_collections.pop()
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if open_collections:
            open_collections[-1][1] += size
            if open_collections[-1][1] > max_nodes:
                raise YamlReadError(
                    f"{_where(event.start_mark)}: more than {max_nodes} values once its "
                    "aliases (*name) are expanded: an alias bomb, or data that does not "
                    "belong in a config; write the values out or remove the aliases")


def read_yaml_text(text):
    """The object `text` holds, as PaddleSeg's FullLoader reads it, after the size check.

    Raises:
        YamlReadError: not valid YAML (the message gives the line), or refused by
            `check_expanded_size`.
    """
    try:
        check_expanded_size(text)
        return yaml.load(text, Loader=LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        lines = text.splitlines()
        line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        hint = "; YAML indents with spaces, not tabs" if "\t" in line else ""
        raise YamlReadError(f"{_where(mark)}: {error.problem}{hint}") from error
    except yaml.YAMLError as error:
        raise YamlReadError(str(error)) from error
