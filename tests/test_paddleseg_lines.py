"""The PaddleSeg lines the plugin installs with: 2.8.x, or a develop build kept in place."""
import os
import subprocess
import sys
import zipfile

import paddleseg
import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from paddleseg_imbalance.paddleseg_requirement import PADDLESEG_REQUIREMENT

SPECIFIER = SpecifierSet(PADDLESEG_REQUIREMENT.split("paddleseg", 1)[1])


def accepts(version):
    # pip counts an installed pre-release (develop's 0.0.0.dev0) as meeting a requirement.
    return SPECIFIER.contains(Version(version), prereleases=True)


@pytest.mark.parametrize("version", ["2.8.0", "2.8.1", "0.0.0.dev0"])
def test_the_requirement_accepts_2_8_and_develop(version):
    assert accepts(version)


@pytest.mark.parametrize("version", ["2.0.0", "2.5.0", "2.7.0", "2.9.0", "3.0.0"])
def test_the_requirement_refuses_other_releases(version):
    assert not accepts(version)


def test_the_installed_paddleseg_is_a_supported_line():
    assert accepts(paddleseg.__version__), (
        f"PaddleSeg {paddleseg.__version__} is installed; the plugin needs "
        f"{PADDLESEG_REQUIREMENT}")


def probe_wheel(directory, requirement):
    """A wheel of an empty package that requires `requirement`, as the plugin does."""
    path = os.path.join(str(directory), "probe-1-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("probe-1.dist-info/METADATA", "Metadata-Version: 2.1\nName: probe\n"
                       f"Version: 1\nRequires-Dist: {requirement}\n")
        wheel.writestr("probe-1.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\n"
                       "Root-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr("probe-1.dist-info/RECORD", "")
    return path


def test_pip_keeps_the_installed_paddleseg(tmp_path):
    """Offline (no index, no pip config): pip would install the probe alone, so the
    installed PaddleSeg, 2.8.0 or develop, meets the plugin's requirement as it is."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("PIP_")}
    environment["PIP_CONFIG_FILE"] = os.devnull
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index",
         "--disable-pip-version-check", probe_wheel(tmp_path, PADDLESEG_REQUIREMENT)],
        capture_output=True, text=True, timeout=120, env=environment)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Would install probe-1" in output.splitlines()[-1], output[-3000:]
