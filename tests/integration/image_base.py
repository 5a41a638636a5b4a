"""The worker image's base: a Debian bookworm root made by debootstrap, imported into
buildah as a local image (no registry is reachable here).

Built once per machine, under a file lock: `.ci/run` starts it in the background while
pip installs (a minute off CI's wall time), and tests/integration/test_image.py calls
`ensure_base()` too, which waits for a build under way instead of starting a second one.

    python3 -m tests.integration.image_base     # from the repository root
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile

BASE = "localhost/klo-bookworm-base"
MIRROR = os.environ.get("KLO_DEBIAN_MIRROR", "http://deb.debian.org/debian")
LOCK = os.path.join(tempfile.gettempdir(), "klo-bookworm-base.lock")


def has_image(name: str) -> bool:
    return bool(
        subprocess.run(
            ["buildah", "images", "-q", name], capture_output=True, text=True
        ).stdout.strip()
    )


def _run(*cmd: str, timeout: float) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        raise RuntimeError(f"{' '.join(cmd)}\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return out.stdout.strip()


def ensure_base(timeout: float = 900) -> bool:
    """Build BASE unless it exists (waiting for a build under way). True if built now."""
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if has_image(BASE):
            return False
        root = tempfile.mkdtemp(prefix="klo-rootfs-")
        try:
            _run("debootstrap", "--variant=minbase", "bookworm", root, MIRROR, timeout=timeout)
            ctr = _run("buildah", "from", "scratch", timeout=60)
            _run("buildah", "copy", ctr, root, "/", timeout=timeout)
            _run("buildah", "commit", "--rm", ctr, BASE, timeout=timeout)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return True


if __name__ == "__main__":
    print("built" if ensure_base() else "already there", BASE)
