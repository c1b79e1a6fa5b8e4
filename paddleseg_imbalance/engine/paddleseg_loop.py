"""PaddleSeg's training loop module, and the one way the tools change it for a run.

`paddleseg.core.train` the attribute is the function; the loop's module is
`paddleseg_train_module`. The per-run hooks (listed in `paddleseg_imbalance.patches`)
change only names the loop looks up in its own module, and put the originals back when
their block ends, however it ends:

- `replaced_in_loop` replaces a name outright (`evaluate`, `logger`);
- `paddle_in_loop` replaces attributes of `paddle` as the loop sees it (`save`,
  `io.DataLoader`): the loop's `paddle` becomes a stand-in for the real module, so no
  other code sees the change;
- `loss_observed` adds an observer to the loop's one `loss_computation` wrapper, so any
  number of hooks wrap it once.

A hook is never applied twice: replacing a name, a `paddle` attribute or an observer that
is already in place raises `RuntimeError`.
"""
import contextlib
import importlib
import inspect

paddleseg_train_module = importlib.import_module("paddleseg.core.train")

# Names `replaced_in_loop` holds now: a second replacement would hide the first.
_replaced = set()


def _defaulted_parameters(function):
    """The names of `function`'s positional parameters that have a default, in the order
    of `function.__defaults__`."""
    positional = [parameter.name for parameter in inspect.signature(function).parameters.values()
                  if parameter.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
    count = len(function.__defaults__ or ())
    return positional[len(positional) - count:]


def _refuse_twice(held, names, what):
    twice = sorted(set(names) & held)
    if twice:
        raise RuntimeError(f"{what} {', '.join(twice)} of PaddleSeg's training loop is "
                           "replaced already: a per-run hook is applied twice.")


@contextlib.contextmanager
def replaced_in_loop(**replacements):
    """Set `paddleseg_train_module.<name> = value` for each keyword during the block.

    PaddleSeg develop's loop takes its logger as a parameter (`logger=setup_logger(...)`)
    instead of the module's: a replaced name that is a parameter default of the loop
    function is replaced there too.
    """
    _refuse_twice(_replaced, replacements, "name")
    loop = paddleseg_train_module.train
    originals = {name: getattr(paddleseg_train_module, name) for name in replacements}
    original_defaults = loop.__defaults__
    defaults = list(original_defaults or ())
    for index, name in enumerate(_defaulted_parameters(loop)):
        if name in replacements:
            defaults[index] = replacements[name]
    for name, value in replacements.items():
        setattr(paddleseg_train_module, name, value)
    loop.__defaults__ = tuple(defaults) if original_defaults is not None else None
    _replaced.update(replacements)
    try:
        yield
    finally:
        _replaced.difference_update(replacements)
        loop.__defaults__ = original_defaults
        for name, value in originals.items():
            setattr(paddleseg_train_module, name, value)


class _ModuleAsLoopSeesIt:
    """A module's attributes, less those replaced for the loop. Its own two attributes
    are underscored so that they hide none of the module's."""

    def __init__(self, module):
        self._real = module
        self._replaced = {}

    def __getattr__(self, name):
        try:
            return self.__dict__["_replaced"][name]
        except KeyError:
            return getattr(self.__dict__["_real"], name)


def _replaced_names(stand_in):
    """Every dotted name `stand_in` replaces."""
    found = set()
    for name, value in stand_in._replaced.items():
        if isinstance(value, _ModuleAsLoopSeesIt):
            found |= {f"{name}.{inner}" for inner in _replaced_names(value)}
        else:
            found.add(name)
    return found


def _replace(stand_in, dotted, value):
    """Replace `dotted` (an attribute of a submodule goes through another stand-in)."""
    name, _, rest = dotted.partition(".")
    if not rest:
        stand_in._replaced[name] = value
        return
    inner = stand_in._replaced.setdefault(name,
                                          _ModuleAsLoopSeesIt(getattr(stand_in._real, name)))
    _replace(inner, rest, value)


def _restore(stand_in, dotted):
    """Undo `_replace(stand_in, dotted, ...)`, and drop a submodule stand-in left empty."""
    name, _, rest = dotted.partition(".")
    if rest:
        inner = stand_in._replaced[name]
        _restore(inner, rest)
        if inner._replaced:
            return
    del stand_in._replaced[name]


@contextlib.contextmanager
def paddle_in_loop(**replacements):
    """Replace attributes of `paddle` as PaddleSeg's loop sees it, during the block.

    Keywords are attribute paths with `__` for `.` (`io__DataLoader=...`); the real
    `paddle` module is never changed.
    """
    dotted = {name.replace("__", "."): value for name, value in replacements.items()}
    stand_in = paddleseg_train_module.paddle
    if not isinstance(stand_in, _ModuleAsLoopSeesIt):
        stand_in = _ModuleAsLoopSeesIt(stand_in)
    _refuse_twice(_replaced_names(stand_in), dotted, "paddle attribute")
    for name, value in dotted.items():
        _replace(stand_in, name, value)
    paddleseg_train_module.paddle = stand_in
    try:
        yield
    finally:
        for name in dotted:
            _restore(stand_in, name)
        if not stand_in._replaced:
            paddleseg_train_module.paddle = stand_in._real


class _ObservedLossComputation:
    """The loop's `loss_computation`, then each observer with the batch's logits, labels
    and losses (in the order the observers were added)."""

    def __init__(self, original):
        self.original = original
        self.observers = {}

    def __call__(self, logits_list, labels, edges, losses):
        loss_list = self.original(logits_list=logits_list, labels=labels, edges=edges,
                                  losses=losses)
        for observe in list(self.observers.values()):
            observe(logits_list, labels, loss_list)
        return loss_list


@contextlib.contextmanager
def loss_observed(name, observer):
    """Call `observer(logits_list, labels, loss_list)` after every `loss_computation` of
    PaddleSeg's loop during the block; `name` says which hook it is."""
    wrapper = paddleseg_train_module.loss_computation
    if not isinstance(wrapper, _ObservedLossComputation):
        wrapper = _ObservedLossComputation(wrapper)
    _refuse_twice(set(wrapper.observers), [name], "loss observer")
    wrapper.observers[name] = observer
    paddleseg_train_module.loss_computation = wrapper
    try:
        yield
    finally:
        del wrapper.observers[name]
        if not wrapper.observers:
            paddleseg_train_module.loss_computation = wrapper.original
