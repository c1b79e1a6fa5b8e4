"""Entry point of the `paddleseg-imbalance` console script (and of tools/lint_config.py).

`import paddleseg_imbalance` imports paddle: the package `__init__` repairs PaddleSeg
and registers the plugin's components, which every other subcommand needs. A
config-only `lint` needs neither, and should answer in a fraction of a second. So for
`paddleseg-imbalance lint ...` without `--scan-data` this launcher puts a bare module
into `sys.modules["paddleseg_imbalance"]` before anything imports the package: a
module built from the package's import spec (`importlib.util.find_spec`, which locates
the package without running it) with the package's `__path__`, whose `__init__` is never
executed. Submodules (`paddleseg_imbalance.cli`, `paddleseg_imbalance.lint`, ...) then
import from the package directory as usual, and none of the ones the lint uses imports
paddle. Every other command goes to `paddleseg_imbalance.cli.main` with the real package.

The bare package stays in `sys.modules` for the life of the process, so only the lint
path uses it: code that needs the plugin registered must not run in that process.
"""
import zlib  # noqa: F401  (first: paddlepaddle 2.6.2 breaks a zlib loaded after paddle)
import contextlib
import importlib.util
import sys

PACKAGE = "paddleseg_imbalance"


def _install_bare_package():
    """Make `import paddleseg_imbalance.<sub>` work without running the package `__init__`."""
    if PACKAGE in sys.modules:
        return  # already imported (for real or bare): submodules import from it as they are
    spec = importlib.util.find_spec(PACKAGE)
    sys.modules[PACKAGE] = importlib.util.module_from_spec(spec)


def is_config_only_lint(argv):
    """Whether `argv` asks for a lint that reads the config only (no paddle needed)."""
    return bool(argv) and argv[0] == "lint" and "--scan-data" not in argv


def main(argv=None):
    """Run the console script with `argv` (default `sys.argv[1:]`); returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if is_config_only_lint(argv) or argv[:1] == ["report"]:  # `report` reads files only
        _install_bare_package()
    # Importing the real package logs (PaddleSeg's logger prints to stdout); a lint's
    # stdout must hold its report alone, e.g. JSON.
    with contextlib.redirect_stdout(sys.stderr if argv[:1] == ["lint"] else sys.stdout):
        from paddleseg_imbalance.cli import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
