import os
from pathlib import Path

#: Mount points passed to mount(), in order.
mounted = []


def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    """Create ``mountpoint/MyDrive`` as an empty folder standing in for Google Drive, as if the learner allowed it."""
    if os.environ.get("COLAB_STUB_DRIVE") == "refuse":
        raise ValueError("mount failed")  # what Colab raises when the learner refuses access
    (Path(mountpoint) / "MyDrive").mkdir(parents=True, exist_ok=True)
    mounted.append(str(mountpoint))
    print(f"Mounted at {mountpoint}")
