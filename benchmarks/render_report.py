"""Render a run's report.html to a PNG in headless Chromium, so a person can look at it.

    python benchmarks/render_report.py SAVE_DIR [--output docs/report_demo.png]
        [--config CONFIG] [--width 1280] [--height 6000] [--max_kb 500]

Writes SAVE_DIR/report.html first (`paddleseg-imbalance report`, in a fresh interpreter)
and times it, then runs
Debian's `chromium --headless --screenshot` on the file (no server, no network: the page
is self-contained). Chromium's PNG is then cut at the page's last non-white row and, when
it is larger than --max_kb, shrunk (and quantised to 256 colours) until it fits.
Needs `chromium` on the PATH (`apt-get install -y chromium`).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

LAUNCHER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "paddleseg_imbalance_launcher.py")
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def screenshot(page, output, width, height):
    browser = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if browser is None:
        sys.exit("render_report: no chromium on the PATH; install it: apt-get install -y "
                 "chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={profile}",
                        f"--screenshot={output}", f"--window-size={width},{height}",
                        "file://" + os.path.abspath(page)],
                       check=True, capture_output=True, timeout=120)


def trim_and_fit(path, max_kb):
    """Cut the white rows below the page's end; shrink until the PNG is under max_kb."""
    picture = Image.open(path).convert("RGB")
    rows = np.flatnonzero((np.asarray(picture) < 250).any(axis=(1, 2)))
    if rows.size:
        picture = picture.crop((0, 0, picture.width, min(picture.height, rows[-1] + 20)))
    scale = 1.0
    while True:
        sized = picture.resize((int(picture.width * scale), int(picture.height * scale)),
                               Image.LANCZOS) if scale < 1 else picture
        sized.quantize(256).save(path, optimize=True)
        if os.path.getsize(path) <= max_kb * 1024 or scale < 0.3:
            return sized.size
        scale *= 0.85


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("save_dir")
    parser.add_argument("--output", default=None, help="PNG (default SAVE_DIR/report.png).")
    parser.add_argument("--config", default=None, help="Config shown in the report.")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=6000)
    parser.add_argument("--max_kb", type=int, default=500)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    subprocess.run([sys.executable, LAUNCHER, "report", args.save_dir]
                   + (["--config", args.config] if args.config else []), check=True)
    page = os.path.join(args.save_dir, "report.html")
    print(f"report: {page} ({time.perf_counter() - start:.2f} s with the interpreter's start, "
          f"{os.path.getsize(page) / 1024:.0f} KB)")
    output = args.output or os.path.join(args.save_dir, "report.png")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    screenshot(page, output, args.width, args.height)
    size = trim_and_fit(output, args.max_kb)
    print(f"screenshot: {output} ({size[0]} x {size[1]}, "
          f"{os.path.getsize(output) / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
