"""Registered component names read from Python source text, without running it.

PaddleSeg registers a component with a decorator (`@manager.MODELS.add_component`) or a
call (`manager.MODELS.add_component(Name)` / `...add_component([A, B])`); this plugin with
`@register(manager.TRANSFORMS)` / `@register(EVALUATORS)`. A decorator names the `class` or
`def` that follows it. A dataset class's `NUM_CLASSES`, `IGNORE_INDEX` and `IMG_CHANNELS`
are read from the integer assignments in its body. Registrations built at run time (a
loop, a variable) are not seen; `lint --scan-data` reads the live managers instead.
"""
import os
import re
import zipfile

# Manager constant in the source -> manager key of `KnownComponents`.
MANAGER_KEYS = {"MODELS": "models", "BACKBONES": "backbones", "DATASETS": "datasets",
                "TRANSFORMS": "transforms", "LOSSES": "losses", "OPTIMIZERS": "optimizers",
                "EVALUATORS": "evaluators"}
_MANAGER = "(?:[\\w.]+\\.)?(" + "|".join(MANAGER_KEYS) + ")"
_DECORATOR = re.compile(rf"^[ \t]*@[ \t]*(?:{_MANAGER}\.add_component\b|register\([ \t]*"
                        rf"{_MANAGER}[ \t]*\))", re.M)
_CALL = re.compile(rf"^[ \t]*{_MANAGER}\.add_component\([ \t]*\[?([\w \t,]+?)\]?[ \t]*\)",
                   re.M)
_DEFINITION = re.compile(r"^([ \t]*)(?:class|def)[ \t]+(\w+)", re.M)
_CONSTANT = re.compile(r"^[ \t]+(NUM_CLASSES|IGNORE_INDEX|IMG_CHANNELS)[ \t]*=[ \t]*(-?\d+)"
                       r"[ \t]*(?:#.*)?$", re.M)
_TOP_LEVEL = re.compile(r"^\S", re.M)
_CONSTANT_KEYS = {"NUM_CLASSES": "num_classes", "IGNORE_INDEX": "ignore_index",
                  "IMG_CHANNELS": "img_channels"}
_VERSION = re.compile(r"^__version__[ \t]*=[ \t]*['\"]([^'\"]+)['\"]", re.M)


def _class_constants(text, start):
    """{key: int} of the constants in the body of the class defined at `start`."""
    end = _TOP_LEVEL.search(text, text.index("\n", start) + 1 if "\n" in text[start:]
                            else len(text))
    body = text[start:end.start() if end else len(text)]
    return {_CONSTANT_KEYS[name]: int(value) for name, value in _CONSTANT.findall(body)}


def scan_text(text, names, constants):
    """Add the registrations in one file's `text` to `names` ({manager key: set}) and the
    dataset constants to `constants` ({dataset: {key: int}})."""
    if "add_component" not in text and "register(" not in text:
        return
    for match in _DECORATOR.finditer(text):
        manager = MANAGER_KEYS[match.group(1) or match.group(2)]
        definition = _DEFINITION.search(text, match.end())
        if definition is None:
            continue
        name = definition.group(2)
        names[manager].add(name)
        if manager == "datasets":
            values = _class_constants(text, definition.start())
            if "num_classes" in values:
                constants[name] = {key: values.get(key) for key in _CONSTANT_KEYS.values()}
    for match in _CALL.finditer(text):
        manager = MANAGER_KEYS[match.group(1)]
        names[manager].update(n.strip() for n in match.group(2).split(",") if n.strip())


def _empty():
    return {key: set() for key in MANAGER_KEYS.values()}, {}


def scan_directory(root):
    """(names, constants) of every .py file under `root` (a file alone is scanned too)."""
    names, constants = _empty()
    paths = [root] if os.path.isfile(root) else sorted(
        os.path.join(folder, name) for folder, _, files in os.walk(root)
        for name in files if name.endswith(".py"))
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as file:
            scan_text(file.read(), names, constants)
    return names, constants


def scan_wheel(path, package="paddleseg"):
    """(names, constants, version) of `package` inside the wheel (a zip) at `path`."""
    names, constants = _empty()
    version = None
    with zipfile.ZipFile(path) as wheel:
        for entry in sorted(wheel.namelist()):
            if not (entry.startswith(package + "/") and entry.endswith(".py")):
                continue
            text = wheel.read(entry).decode("utf-8", errors="replace")
            scan_text(text, names, constants)
            if entry == f"{package}/__init__.py":
                version = package_version(text)
    return names, constants, version


def package_version(init_text):
    """The `__version__` string assigned in a package's `__init__.py` text, or None."""
    match = _VERSION.search(init_text)
    return match.group(1) if match else None
