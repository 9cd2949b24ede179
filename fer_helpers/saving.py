"""Saving and loading models as ``.keras``, legacy ``.h5``, or ``.json`` architecture + ``.weights.h5`` (lesson 8),
and TensorFlow Lite export.

Loading never runs code from the file: Keras' ``safe_mode`` stays on, even where it was switched off globally.
Errors name the file.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import warnings
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import tensorflow as tf
from keras.src.saving.serialization_lib import SafeModeScope

from . import atomic
from .cli import stderr_silenced
from .labels import NUM_CLASSES
from .preprocessing import prepare_faces
from .pretrained import load_shipped_model

#: Extensions :func:`save_model` and :func:`load_model` understand, and their formats.
FORMATS = {".keras": "keras", ".h5": "h5", ".hdf5": "h5", ".json": "json"}
WEIGHTS_SUFFIX = ".weights.h5"


# ----------------------------------------------------------------------------------------------------------- saving
def save_model(model, path) -> Path:
    """Save ``model`` in the format its extension names and return the path written.

    ``.keras`` (also for a path without extension), legacy ``.h5``, or ``.json``: the architecture, with the weights
    in ``<stem>.weights.h5`` next to it (:func:`save_architecture_and_weights`). The file is complete or absent.
    """
    path = Path(path) if Path(path).suffix else Path(path).with_suffix(".keras")
    if path.suffix.lower() not in FORMATS or path.name.lower().endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"cannot save a model as {path}: use .keras (recommended), .h5 (legacy) or .json")
    if path.suffix.lower() == ".json":
        return save_architecture_and_weights(model, path)[0]
    compile_config = getattr(getattr(model, "_compile_config", None), "config", None)
    kept = dict(compile_config or {})
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*legacy.*")
            atomic.save_model(model, path)
    finally:  # Keras' .h5 writer removes the optimizer from the model's live compile config: put it back
        if compile_config is not None:
            compile_config.update(kept)
    return path


def default_weights_path(json_path) -> Path:
    """Where the weights of an architecture file go: ``model.json`` -> ``model.weights.h5``."""
    return Path(json_path).with_suffix(WEIGHTS_SUFFIX)


def save_architecture_and_weights(model, json_path, weights_path=None) -> tuple[Path, Path]:
    """The original tutorial's pair: ``model.to_json()`` into ``json_path`` and the weights into ``weights_path``
    (default :func:`default_weights_path`; Keras 3 requires the ending ``.weights.h5``). Returns both paths."""
    json_path = Path(json_path)
    weights_path = Path(weights_path or default_weights_path(json_path))
    if not weights_path.name.lower().endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"weights file {weights_path} must end in '{WEIGHTS_SUFFIX}' (Keras 3 requires it)")
    with atomic.atomic_path(json_path) as tmp:
        tmp.write_text(model.to_json(indent=2), encoding="utf-8")
    with atomic.atomic_path(weights_path) as tmp:
        model.save_weights(tmp)
    return json_path, weights_path


# ---------------------------------------------------------------------------------------------------------- loading
def _check_file(path: Path, what: str = "model file") -> None:
    """FileNotFoundError if ``path`` is missing, ValueError if it is empty; both name the file."""
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path}")
    if path.is_file() and path.stat().st_size == 0:
        raise ValueError(f"{what} {path} is empty (0 bytes): it was not written completely; save it again")


def _model_format(path: Path, weights) -> str:
    """The format of the model file ``path`` (see :data:`FORMATS`); a clear error when it cannot be one."""
    _check_file(path)
    if (path / "saved_model.pb").exists():
        by = "Keras 2" if (path / "keras_metadata.pb").exists() else "TensorFlow"
        raise ValueError(f"{path} is a TensorFlow SavedModel written by {by}, which Keras 3 cannot load as a model: "
                         f"for inference wrap it in keras.layers.TFSMLayer({str(path)!r}), or load it where Keras 2 "
                         "runs and re-save it as model.keras")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a model file")
    if path.name.lower().endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"{path} holds weights only, no architecture: pass it as the weights of its architecture "
                         f"file, load_model('model.json', weights={str(path)!r}), or call model.load_weights")
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"cannot load {path}: unsupported extension {path.suffix!r}; expected .keras, .h5 or .json")
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):  # Keras would say "File not found"
        raise ValueError(f"{path} is not a Keras model: a .keras file is a zip archive, this one is not (cut short?)")
    if weights is not None and path.suffix.lower() != ".json":
        raise ValueError(f"weights= goes with a .json architecture file, not with {path}")
    return FORMATS[path.suffix.lower()]


def _load_error(path: Path, fmt: str, exc: Exception) -> ValueError:
    """Why Keras could not load the model file ``path``, and what to do about it."""
    version = ""
    with contextlib.suppress(Exception):  # the Keras version the file records, if any
        if fmt == "h5":
            with h5py.File(path, "r") as f:
                version = str(f.attrs["keras_version"])
        elif fmt == "json":
            version = str(json.loads(path.read_text(encoding="utf-8"))["keras_version"])
        else:
            with zipfile.ZipFile(path) as archive:
                version = str(json.loads(archive.read("metadata.json"))["keras_version"])
    if "safe_mode" in str(exc):
        hint = "it contains Python code (a Lambda layer), and load_model never executes code from a model file: " \
               "rebuild the model in Python and load only its weights, or use a registered custom layer"
    elif version.startswith(("1.", "2.")):
        hint = f"it was saved by Keras {version}, which Keras {keras.__version__} cannot read: load it where Keras 2 " \
               "runs (TensorFlow 2.15, or the tf-keras package) and re-save it as model.keras"
    else:
        hint = "it is not a Keras model, or it is damaged"
    return ValueError(f"cannot load {path}: {hint} ({type(exc).__name__}: {exc})")


def _load_json(path: Path, weights, compile: bool):
    """``model_from_json`` on ``path``, then the weights from ``weights`` or the file next to it."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        if not compile:
            config.pop("compile_config", None)
        model = keras.models.model_from_json(json.dumps(config))
        if not isinstance(model, keras.Model):
            raise TypeError(f"the JSON describes a {type(model).__name__}, not a model")
    except Exception as exc:
        raise _load_error(path, "json", exc) from exc
    candidates = [Path(weights)] if weights else [default_weights_path(path), path.with_suffix(".h5")]
    weights = next((p for p in candidates if p.exists()), candidates[0])
    _check_file(weights, "weights file")
    try:
        model.load_weights(weights)
    except Exception as exc:
        raise ValueError(f"weights file {weights} does not fit the architecture in {path}: {exc}") from exc
    return model


def load_model(path, weights=None, compile: bool = True):
    """Load a model saved as ``.keras``, legacy ``.h5``, or ``.json`` with its weights (``weights``, or else
    ``<stem>.weights.h5`` or the tutorial's ``<stem>.h5`` next to it).

    Nothing in the file is executed. Errors name the file: FileNotFoundError when it is missing, ValueError when it
    holds no model this Keras can load. ``compile=False`` leaves out the optimizer and loss (enough for predicting).
    """
    path = Path(path)
    for module in ("augment", "crops"):  # they register the package's custom layers
        importlib.import_module(f"{__package__}.{module}")
    fmt = _model_format(path, weights)
    with SafeModeScope(True), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(legacy|__array__).*")
        if fmt == "json":
            return _load_json(path, weights, compile)
        try:
            if fmt == "keras" and not compile:
                return load_shipped_model(path)  # also reads files written by a newer Keras
            return keras.saving.load_model(path, compile=compile, safe_mode=True)
        except Exception as exc:
            raise _load_error(path, fmt, exc) from exc


def check_face_model(model, source="the model"):
    """Return ``model`` if it takes ``(48, 48, 1)`` faces (spatial sizes may be None) and returns 7 probabilities;
    otherwise raise ValueError naming ``source``."""
    try:
        in_shape, out_shape = tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"{source}: not a built Keras model with one input and one output ({exc})") from None
    if len(in_shape) != 4 or in_shape[1] not in (None, 48) or in_shape[2] not in (None, 48) or in_shape[3] != 1:
        raise ValueError(f"{source}: the model takes inputs of shape {in_shape[1:]}, but this series feeds it 48x48 "
                         "grayscale faces, shape (48, 48, 1)")
    if out_shape[1:] != (NUM_CLASSES,):
        raise ValueError(f"{source}: the model returns shape {out_shape[1:]}, but this series needs "
                         f"{NUM_CLASSES} class probabilities, one per emotion")
    probe = np.linspace(0, 255, 2 * 48 * 48, dtype=np.float32).reshape(2, 48, 48, 1)
    out = keras.ops.convert_to_numpy(model(probe, training=False)).astype(np.float64)
    if not np.all(np.isfinite(out)) or out.min() < 0 or not np.allclose(out.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(f"{source}: the model's outputs are not probabilities (rows must be >= 0 and sum to 1, got "
                         f"sums {np.round(out.sum(axis=1), 3).tolist()}): end the model in a softmax")
    return model


def load_face_model(path, weights=None):
    """:func:`load_model` for predicting (not compiled), checked with :func:`check_face_model`."""
    return check_face_model(load_model(path, weights=weights, compile=False), path)


# ------------------------------------------------------------------------------------------------------ TensorFlow Lite
def export_tflite(model, path, quantization: str | None = "float16") -> Path:
    """Convert ``model`` to a TensorFlow Lite file and return its path.

    ``quantization``: None (float32 weights), ``"float16"`` (half the size) or ``"dynamic"`` (int8 weights, a quarter
    of the size). The ``.tflite`` model takes the same raw 0..255 faces ``(N, 48, 48, 1)`` as the Keras model.
    """
    if quantization not in (None, "float16", "dynamic"):
        raise ValueError(f"quantization must be None, 'float16' or 'dynamic', got {quantization!r}")
    path = Path(path)
    if path.suffix.lower() != ".tflite":
        raise ValueError(f"TensorFlow Lite files end in .tflite, got {path}")
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # keep the converter quiet
        warnings.simplefilter("ignore")
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT] if quantization else []
        converter.target_spec.supported_types = [tf.float16] if quantization == "float16" else []
        flatbuffer = converter.convert()
    with atomic.atomic_path(path) as tmp:
        tmp.write_bytes(flatbuffer)
    return path


def tflite_predict(path, faces) -> np.ndarray:
    """Class probabilities ``(N, 7)`` from a ``.tflite`` model for faces of any size and colour."""
    path = Path(path)
    _check_file(path, "TensorFlow Lite file")
    x = prepare_faces(faces).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter announces its move to the ai-edge-litert package
        try:
            interpreter = tf.lite.Interpreter(model_path=str(path))
        except ValueError as exc:
            raise ValueError(f"{path} is not a valid TensorFlow Lite model ({exc})") from None
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(inp["index"], list(x.shape))
    with stderr_silenced():  # the first interpreter of a process announces its XNNPACK delegate on stderr
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
    return np.array(interpreter.get_tensor(out["index"]), dtype=np.float32)


def tflite_size_report(model, directory, quantizations=(None, "float16", "dynamic"), keras_path=None) -> dict:
    """Export ``model`` once per quantisation into ``directory`` as ``model_<quantisation>.tflite``; print and return
    the file sizes in bytes, after the size of ``keras_path`` when given."""
    paths = [Path(keras_path)] if keras_path else []
    paths += [export_tflite(model, Path(directory) / f"model_{q or 'float32'}.tflite", q) for q in quantizations]
    sizes = {p.name: p.stat().st_size for p in paths}
    for name, size in sizes.items():
        print(f"{name:<22} {size / 1024:10.1f} KiB  {size / next(iter(sizes.values())):6.1%}")
    return sizes
