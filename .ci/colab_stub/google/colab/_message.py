class MessageError(RuntimeError):
    """What Colab raises when the browser side of a call fails (camera denied, tab closed)."""
