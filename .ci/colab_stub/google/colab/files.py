#: How often upload() was called.
upload_calls = []


def upload(target_dir=""):
    """A cancelled upload: Colab returns an empty dict when the learner closes the file chooser."""
    upload_calls.append(target_dir)
    return {}


def download(filename):
    print(f"(stand-in Colab: would download {filename})")
