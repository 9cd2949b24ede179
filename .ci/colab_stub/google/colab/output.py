from ._message import MessageError

#: True once enable_custom_widget_manager() was called.
custom_widget_manager = False
#: The scripts eval_js was asked to run.
scripts = []


def eval_js(script, ignore_result=False, timeout_sec=None):
    """The browser refuses the camera: Colab raises MessageError with the browser's error."""
    scripts.append(script)
    raise MessageError("NotAllowedError: Permission denied")


def enable_custom_widget_manager():
    global custom_widget_manager
    custom_widget_manager = True


def disable_custom_widget_manager():
    global custom_widget_manager
    custom_widget_manager = False
