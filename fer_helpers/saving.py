"""Saving and loading models in the three formats the series meets, plus TensorFlow Lite export.

Formats
-------
``.keras`` (the default, recommended)
    Keras 3's native format: one zip archive with the architecture (``config.json``), the weights and, when the model
    was compiled, the optimizer state. Written by :func:`save_model` for ``model.keras``.
``.h5`` (legacy)
    The HDF5 format of Keras 2 (TensorFlow <= 2.15). Keras 3 still writes and reads it for compatibility but calls it
    legacy; use it only to exchange models with old code.
``.json`` + ``.weights.h5`` (the original tutorial)
    The architecture as JSON text (``model.to_json()``) next to a weights-only file (``model.save_weights``). Keras 3
    insists that weights-only files end in ``.weights.h5``. :func:`save_architecture_and_weights` writes the pair.

:func:`load_model` reads all three and explains what went wrong when it cannot: a missing file raises
``FileNotFoundError`` naming the path; an empty, corrupt or wrong file raises ``ValueError`` naming the file; a model
saved by Keras 2 that Keras 3 cannot read (a TensorFlow SavedModel directory, or an ``.h5``/``.keras``/``.json`` file
whose recorded Keras version is 2.x and which fails to load) raises ``ValueError`` saying how to convert it.

Safety: loading never runs code from the file. Keras' ``safe_mode`` stays on (a ``Lambda`` layer holding marshalled
Python bytecode is refused), and this module never unpickles anything.

TensorFlow Lite
---------------
:func:`export_tflite` converts a model to a ``.tflite`` file, optionally quantised (float16 weights, or dynamic-range
int8 weights), :func:`tflite_predict` runs one on faces and :func:`tflite_size_report` compares the file sizes.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

#: Suffixes :func:`save_model` and :func:`load_model` understand, mapped to format names.
FORMATS: Mapping[str, str] = {".keras": "keras", ".h5": "h5", ".hdf5": "h5", ".json": "json"}

_WEIGHTS_SUFFIX = ".weights.h5"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

_CONVERT_HINT = (
    "To convert it, load it once where Keras 2 is available (TensorFlow 2.15, or the tf-keras package: "
    "`pip install 'tensorflow==2.15.*'`, then `m = tf.keras.models.load_model(PATH)`) and re-save it in the "
    "modern format with `m.save('model.keras')` (or save `m.to_json()` and `m.save_weights('model.weights.h5')`); "
    "Keras 3 reads those files."
)


# ----------------------------------------------------------------------------------------------------------- saving
def _format_of(path: Path) -> str | None:
    return FORMATS.get(path.suffix.lower())


def save_model(model, path, format: str | None = None) -> Path:
    """Save ``model`` and return the path of the (main) file written.

    The format follows the extension unless ``format`` (``"keras"``, ``"h5"`` or ``"json"``) is given:

    * ``model.keras``: Keras 3's native format (the default: a path without extension gets ``.keras``);
    * ``model.h5``: the **legacy** HDF5 format of Keras 2, for old code only (Keras warns that it is legacy);
    * ``model.json``: the original tutorial's pair, the architecture in ``model.json`` and the weights in
      ``model.weights.h5`` next to it (see :func:`save_architecture_and_weights`).
    """
    path = Path(path)
    fmt = _format_of(path)
    if format is not None:
        if format not in ("keras", "h5", "json"):
            raise ValueError(f"format must be 'keras', 'h5' or 'json', got {format!r}")
        if path.suffix == "":
            path = path.with_suffix({"keras": ".keras", "h5": ".h5", "json": ".json"}[format])
        elif fmt != format:
            raise ValueError(f"format {format!r} does not match the extension of {path} ({path.suffix})")
        fmt = format
    elif fmt is None:
        if path.suffix:
            raise ValueError(
                f"cannot tell the format of {path} from its extension {path.suffix!r}: use .keras (recommended), "
                ".h5 (legacy) or .json (architecture + .weights.h5)"
            )
        path, fmt = path.with_suffix(".keras"), "keras"
    if path.name.lower().endswith(_WEIGHTS_SUFFIX):
        raise ValueError(f"{path} is a weights-only file name; use model.save_weights for weights alone")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        json_path, _ = save_architecture_and_weights(model, path)
        return json_path
    if fmt == "h5":
        _save_legacy_h5(model, path)
    else:
        model.save(path)
    return path


def _save_legacy_h5(model, path: Path) -> None:
    """``model.save(x.h5)``, guarding against a Keras 3 bug.

    Keras' legacy HDF5 writer pops ``"optimizer"`` out of the model's *live* compile configuration, so a later
    ``model.to_json()`` or ``.keras`` save of the same model silently forgets its optimizer (and reloads with
    RMSprop). We put it back.
    """
    compile_config = getattr(getattr(model, "_compile_config", None), "config", None)
    snapshot = dict(compile_config) if isinstance(compile_config, dict) else None
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*legacy.*")
            model.save(path)
    finally:
        if snapshot is not None:
            compile_config.update(snapshot)


def default_weights_path(json_path) -> Path:
    """The weights file that belongs to an architecture file: ``model.json`` -> ``model.weights.h5``."""
    json_path = Path(json_path)
    return json_path.with_name(json_path.stem + _WEIGHTS_SUFFIX)


def save_architecture_and_weights(model, json_path, weights_path=None) -> tuple[Path, Path]:
    """The original tutorial's way: ``model.to_json()`` into ``json_path`` and the weights into ``weights_path``.

    ``weights_path`` defaults to ``<stem>.weights.h5`` next to the JSON file (where :func:`load_model` looks for it)
    and must end in ``.weights.h5``: Keras 3 refuses other names for weights-only files (the tutorial's old
    ``model.h5`` name was Keras 2's convention). Returns ``(json_path, weights_path)``.
    """
    json_path = Path(json_path)
    weights_path = default_weights_path(json_path) if weights_path is None else Path(weights_path)
    if not weights_path.name.lower().endswith(_WEIGHTS_SUFFIX):
        raise ValueError(
            f"weights file {weights_path} must end in '{_WEIGHTS_SUFFIX}' (Keras 3 requires this suffix for "
            f"weights-only files), e.g. {default_weights_path(json_path)}"
        )
    json_path.parent.mkdir(parents=True, exist_ok=True)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(model.to_json(indent=2), encoding="utf-8")
    model.save_weights(weights_path)
    return json_path, weights_path


# ---------------------------------------------------------------------------------------------------------- loading
def _register_package_layers() -> None:
    """Import the package modules that register custom layers, so models using them deserialize.

    ``fer_helpers.augment`` registers its layers with ``keras.saving.register_keras_serializable``; it is optional
    (a model without those layers loads without it).
    """
    for name in ("fer_helpers.augment",):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                warnings.warn(f"{name} could not be imported ({exc}); models using its layers will not load")
        except Exception as exc:  # a broken optional module must not stop other models from loading
            warnings.warn(f"{name} could not be imported ({exc!r}); models using its layers will not load")


def _check_file(path: Path, what: str = "model file") -> None:
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a {what}")
    if path.stat().st_size == 0:
        raise ValueError(f"{what} {path} is empty (0 bytes): it was not written completely; save it again")


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == _HDF5_SIGNATURE


def _major(version) -> int | None:
    if isinstance(version, bytes):
        version = version.decode("utf-8", "replace")
    try:
        return int(str(version).strip().split(".")[0])
    except ValueError:
        return None


def _h5_attrs(path: Path) -> dict:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            attrs = {k: f.attrs[k] for k in f.attrs}
            attrs["_groups"] = list(f.keys())
    except OSError as exc:
        raise ValueError(f"{path} is not a readable HDF5 file ({exc})") from None
    return {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v) for k, v in attrs.items()}


def _keras2_error(path: Path, version, exc: BaseException) -> ValueError:
    return ValueError(
        f"{path} was saved by Keras {version} (TensorFlow 2.x's Keras 2) and Keras {_keras_version()} cannot read "
        f"it: {type(exc).__name__}: {exc}\n{_CONVERT_HINT.replace('PATH', repr(str(path)))}"
    )


def _unsafe_error(path: Path, exc: BaseException) -> ValueError | None:
    text = str(exc)
    if "safe_mode" in text or "arbitrary code" in text.lower():
        return ValueError(
            f"{path} contains Python code (a Lambda layer or another unsafe object); load_model keeps Keras' "
            "safe_mode on and never executes code from a model file. Rebuild the model in Python and load only its "
            "weights (model.load_weights), or replace the Lambda layer by a registered custom layer."
        )
    return None


def _load_error(path: Path, version, exc: BaseException, what: str = "could not load the Keras model") -> ValueError:
    unsafe = _unsafe_error(path, exc)
    if unsafe is not None:
        return unsafe
    if _major(version) is not None and _major(version) < 3:
        return _keras2_error(path, version, exc)
    return ValueError(f"{what} {path}: {type(exc).__name__}: {exc}")


def _keras_version() -> str:
    import keras

    return keras.__version__


def _safe_mode_scope():
    """Force Keras' safe mode on while deserializing, even if someone enabled unsafe deserialization globally."""
    try:
        from keras.src.saving.serialization_lib import SafeModeScope
    except ImportError:  # pragma: no cover - Keras moved it; load_model(safe_mode=True) still applies
        return contextlib.nullcontext()
    return SafeModeScope(True)


def check_face_model(model, source="the model"):
    """Raise ValueError naming ``source`` unless ``model`` takes ``(48, 48, 1)`` faces (spatial sizes may be None)
    and returns probabilities over the 7 emotions (non-negative rows summing to 1, i.e. a softmax, not logits).
    Returns the model."""
    import keras

    from .labels import NUM_CLASSES

    try:
        in_shape, out_shape = model.input_shape, model.output_shape
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"{source}: not a built Keras model with one input and one output ({exc})") from None
    if isinstance(in_shape, list) or isinstance(out_shape, list):
        raise ValueError(f"{source}: the model has several inputs or outputs ({in_shape} -> {out_shape}); this "
                         "series needs one input of (48, 48, 1) faces and one output of 7 probabilities")
    in_ok = len(in_shape) == 4 and all(d in (None, 48) for d in in_shape[1:3]) and in_shape[3] == 1
    if not in_ok:
        raise ValueError(f"{source}: the model takes inputs of shape {tuple(in_shape[1:])}, but this series feeds it "
                         "48x48 grayscale faces, shape (48, 48, 1)")
    if len(out_shape) != 2 or out_shape[-1] != NUM_CLASSES:
        raise ValueError(f"{source}: the model returns shape {tuple(out_shape[1:])}, but this series needs "
                         f"{NUM_CLASSES} class probabilities, one per emotion")
    probe = np.linspace(0, 255, 2 * 48 * 48, dtype=np.float32).reshape(2, 48, 48, 1)
    probe[1] = probe[1, ::-1]
    out = np.asarray(keras.ops.convert_to_numpy(model(probe, training=False)), dtype=np.float64)
    if not np.all(np.isfinite(out)) or out.min() < 0 or not np.allclose(out.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(f"{source}: the model's outputs are not probabilities (each row must be >= 0 and sum to 1; "
                         f"got row sums {np.round(out.sum(axis=1), 3).tolist()}): end the model in a softmax "
                         "(logits are not enough)")
    return model


def load_face_model(path, weights=None):
    """:func:`load_model` for inference (not compiled), checked with :func:`check_face_model`: errors name the file."""
    return check_face_model(load_model(path, weights=weights, compile=False), path)


def load_model(path, weights=None, compile: bool = True):
    """Load a model saved as ``.keras``, legacy ``.h5``, or ``.json`` architecture + weights.

    For a ``.json`` file the weights come from ``weights`` or, when it is not given, from ``<stem>.weights.h5`` next
    to it (then the tutorial's old ``<stem>.h5``). Errors name the file: ``FileNotFoundError`` when it is missing,
    ``ValueError`` when it is empty, corrupt, not a model, its weights do not fit the architecture, or it was saved
    by Keras 2 in a form Keras 3 cannot read (the message says how to convert it).

    Nothing in the file is executed: Keras' ``safe_mode`` stays on, so ``Lambda`` layers with marshalled code are
    refused. Custom layers of this package (``fer_helpers.augment``) are registered before loading.
    ``compile=False`` skips restoring the optimizer and loss (enough for inference).
    """
    import keras

    path = Path(path)
    _register_package_layers()
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {path}")
    if path.is_dir():
        return _load_directory(path, compile)
    _check_file(path)
    name = path.name.lower()
    if name.endswith(_WEIGHTS_SUFFIX):
        raise ValueError(
            f"{path} holds weights only, no architecture: pass the architecture file and this file as its weights, "
            f"load_model('model.json', weights={str(path)!r}), or build the model and call model.load_weights"
        )
    fmt = _format_of(path)
    if fmt is None:
        hint = ""
        if zipfile.is_zipfile(path):
            hint = " (it is a zip archive: if it is a Keras model, rename it to .keras)"
        elif _is_hdf5(path):
            hint = " (it is an HDF5 file: if it is a Keras model, rename it to .h5)"
        raise ValueError(
            f"cannot load {path}: unsupported extension {path.suffix!r}; expected .keras, .h5/.hdf5 or .json{hint}"
        )
    if weights is not None and fmt != "json":
        raise ValueError(f"weights= is only used with a .json architecture file, not with {path}")
    if fmt == "keras":
        return _load_keras(path, compile, keras)
    if fmt == "h5":
        return _load_h5(path, compile, keras)
    return _load_json(path, weights, keras, compile)


def _load_directory(path: Path, compile: bool):
    import keras

    if (path / "saved_model.pb").exists() or (path / "saved_model.pbtxt").exists():
        by = "Keras 2 (`model.save(directory)` in TensorFlow <= 2.15)" if (path / "keras_metadata.pb").exists() \
            else "TensorFlow (`tf.saved_model.save` or `model.export`)"
        raise ValueError(
            f"{path} is a TensorFlow SavedModel directory written by {by}; Keras {_keras_version()} cannot load a "
            "SavedModel as a Keras model. For inference only, wrap it in a layer: "
            f"keras.layers.TFSMLayer({str(path)!r}, call_endpoint='serving_default'). "
            + _CONVERT_HINT.replace("PATH", repr(str(path)))
        )
    if (path / "config.json").exists():  # an unzipped .keras archive
        try:
            with _safe_mode_scope():
                return keras.saving.load_model(path, compile=compile, safe_mode=True)
        except Exception as exc:
            raise _load_error(path, None, exc, "could not load the Keras model directory") from exc
    raise ValueError(f"{path} is a directory, not a model file (no config.json or saved_model.pb inside)")


def _load_keras(path: Path, compile: bool, keras):
    if not zipfile.is_zipfile(path):
        what = "an HDF5 file (rename it to .h5)" if _is_hdf5(path) else "not a zip archive"
        raise ValueError(f"{path} is not a Keras model: a .keras file is a zip archive, this one is {what}")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "config.json" not in names:
                raise ValueError(f"{path} is a zip archive but not a Keras model (it has no config.json)")
            version = None
            if "metadata.json" in names:
                try:
                    version = json.loads(z.read("metadata.json")).get("keras_version")
                except (ValueError, AttributeError):
                    version = None
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path} is a corrupt .keras archive ({exc})") from None
    try:
        with _safe_mode_scope():
            return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:
        if not compile and isinstance(exc, (TypeError, ValueError)) and "argument" in str(exc):
            from .pretrained import load_shipped_model  # written by a newer Keras: e.g. the shipped model on 3.10

            try:
                return load_shipped_model(path)
            except Exception:
                pass
        raise _load_error(path, version, exc) from exc


def _load_h5(path: Path, compile: bool, keras):
    if not _is_hdf5(path):
        raise ValueError(f"{path} is not a Keras .h5 model: it is not an HDF5 file")
    attrs = _h5_attrs(path)
    version = attrs.get("keras_version")
    if "model_config" not in attrs:
        if "layer_names" in attrs or "layers" in attrs.get("_groups", []):
            raise ValueError(
                f"{path} holds weights only, no architecture: build the model (or load its .json) and call "
                f"model.load_weights({str(path)!r}), or use load_model('model.json', weights={str(path)!r})"
            )
        raise ValueError(f"{path} is an HDF5 file but not a Keras model (it has no model_config)")
    try:
        with _safe_mode_scope(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*legacy.*")
            return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:
        if compile and _major(version) is not None and _major(version) < 3 and _unsafe_error(path, exc) is None:
            # Keras 2 training configurations (optimizers, losses) often fail where the architecture loads fine.
            try:
                with _safe_mode_scope():
                    model = keras.saving.load_model(path, compile=False, safe_mode=True)
            except Exception:
                raise _keras2_error(path, version, exc) from exc
            warnings.warn(f"{path}: the Keras {version} training configuration could not be restored ({exc}); "
                          "the model was loaded uncompiled")
            return model
        raise _load_error(path, version, exc) from exc


def _find_weights(json_path: Path) -> Path:
    candidates = [default_weights_path(json_path), json_path.with_suffix(".h5")]
    for c in candidates:
        if c.exists():
            return c
    raise FileNotFoundError(
        f"weights file not found for {json_path}: looked for {candidates[0]} (and the legacy {candidates[1]}); "
        "pass weights=PATH"
    )


def _weights_shapes_h5(path: Path) -> list[tuple[int, ...]] | None:
    """Shapes of the variables in a Keras 3 ``.weights.h5`` file (None if it is not laid out as one)."""
    import h5py

    shapes: list[tuple[int, ...]] = []
    with h5py.File(path, "r") as f:
        if "layers" not in f:
            return None
        f["layers"].visititems(lambda name, obj: shapes.append(tuple(obj.shape))
                               if isinstance(obj, h5py.Dataset) else None)
    return shapes


def _load_json(path: Path, weights, keras, compile: bool = True):
    try:
        text = path.read_text(encoding="utf-8")
        config = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path} is not a model architecture: it is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(f"{path} is JSON but not a Keras model architecture (no class_name/config)")
    version = config.get("keras_version")
    if not compile and "compile_config" in config:
        config.pop("compile_config")
        text = json.dumps(config)
    weights_path = _find_weights(path) if weights is None else Path(weights)
    _check_file(weights_path, "weights file")
    if not _is_hdf5(weights_path):
        raise ValueError(f"weights file {weights_path} is not an HDF5 file")
    try:
        with _safe_mode_scope():
            model = keras.models.model_from_json(text)
    except Exception as exc:
        raise _load_error(path, version, exc, "could not build the model described by") from exc
    saved = _weights_shapes_h5(weights_path)
    if saved is not None:
        expected = [tuple(w.shape) for w in model.weights]
        if sorted(saved) != sorted(expected):
            raise ValueError(
                f"weights file {weights_path} does not fit the architecture in {path}: it holds {len(saved)} "
                f"arrays ({sum(int(np.prod(s)) for s in saved):,} numbers), the model has {len(expected)} "
                f"({sum(int(np.prod(s)) for s in expected):,}); were they saved from the same model?"
            )
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*__array__ implementation.*")
            model.load_weights(weights_path)
    except Exception as exc:
        raise ValueError(
            f"weights file {weights_path} does not fit the architecture in {path}: {type(exc).__name__}: {exc}"
        ) from exc
    return model


# ------------------------------------------------------------------------------------------------------ TensorFlow Lite
_QUANTIZATIONS = {None: "float32", "none": "float32", "float32": "float32", "float16": "float16",
                  "dynamic": "dynamic"}


def export_tflite(model, path, quantization: str | None = "float16") -> Path:
    """Convert ``model`` to a TensorFlow Lite file and return its path.

    ``quantization``:

    * ``None`` (or ``"float32"``): no quantisation, the same numbers as Keras (about 4 bytes per parameter);
    * ``"float16"``: weights stored as float16 (half the size; computations still in float32, so predictions
      differ from Keras by about float16's resolution, ~1e-3 relative);
    * ``"dynamic"``: dynamic-range quantisation, weights stored as int8 (a quarter of the size; activations are
      quantised on the fly, so probabilities move by up to a few hundredths and near-ties may change label).

    The ``.tflite`` model takes the same raw 0..255 faces ``(N, 48, 48, 1)`` as the Keras model (the Rescaling
    layer is inside it).
    """
    import tensorflow as tf

    key = quantization.lower() if isinstance(quantization, str) else quantization
    if key not in _QUANTIZATIONS:
        raise ValueError(f"quantization must be None, 'float16' or 'dynamic', got {quantization!r}")
    mode = _QUANTIZATIONS[key]
    path = Path(path)
    if path.suffix.lower() != ".tflite":
        raise ValueError(f"TensorFlow Lite files end in .tflite, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    sink = io.StringIO()  # the converter prints the exported signature: keep notebooks and tests quiet
    with contextlib.redirect_stdout(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if mode in ("float16", "dynamic"):
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            converter.target_spec.supported_types = [tf.float16]
        flatbuffer = converter.convert()
    path.write_bytes(flatbuffer)
    return path


def _interpreter(path: Path, num_threads: int | None):
    """A TFLite interpreter: ``tf.lite.Interpreter``, or the LiteRT package where TensorFlow no longer has it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter warns that it moves to ai_edge_litert
        try:
            import tensorflow as tf

            Interpreter = tf.lite.Interpreter
        except (ImportError, AttributeError):
            try:
                from ai_edge_litert.interpreter import Interpreter
            except ImportError as exc:  # pragma: no cover - depends on the installation
                raise ImportError("running .tflite files needs tf.lite or `pip install ai-edge-litert`") from exc
        return Interpreter(model_path=str(path), num_threads=num_threads)


def tflite_predict(path, faces, num_threads: int | None = None) -> np.ndarray:
    """Class probabilities ``(N, 7)`` from a ``.tflite`` model for faces of any size and colour.

    Faces go through the shared :func:`fer_helpers.preprocessing.prepare_faces`, exactly as for the Keras model.
    """
    from .preprocessing import prepare_faces

    path = Path(path)
    _check_file(path, "TensorFlow Lite file")
    x = prepare_faces(faces)
    try:
        interp = _interpreter(path, num_threads)
    except ValueError as exc:
        raise ValueError(f"{path} is not a valid TensorFlow Lite model ({exc})") from None
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    if len(x) == 0:
        return np.zeros((0, int(out["shape"][-1])), dtype=np.float32)
    interp.resize_tensor_input(inp["index"], list(x.shape))
    interp.allocate_tensors()
    interp.set_tensor(inp["index"], x.astype(inp["dtype"]))
    interp.invoke()
    return np.array(interp.get_tensor(out["index"]), dtype=np.float32)


def tflite_size_report(model, directory, quantizations: Iterable[str | None] = (None, "float16", "dynamic"),
                       keras_path=None, verbose: bool = True) -> dict[str, int]:
    """Export ``model`` once per quantisation into ``directory`` and return (and print) the file sizes in bytes.

    Files are named ``model_float32.tflite``, ``model_float16.tflite``, ``model_dynamic.tflite``. With
    ``keras_path`` the size of that ``.keras`` file is listed first, for comparison.
    """
    directory = Path(directory)
    sizes: dict[str, int] = {}
    if keras_path is not None:
        sizes[Path(keras_path).name] = Path(keras_path).stat().st_size
    for q in quantizations:
        mode = _QUANTIZATIONS.get(q.lower() if isinstance(q, str) else q)
        if mode is None:
            raise ValueError(f"unknown quantization {q!r}")
        p = export_tflite(model, directory / f"model_{mode}.tflite", quantization=q)
        sizes[p.name] = p.stat().st_size
    if verbose:
        base = next(iter(sizes.values()), 0)
        width = max((len(k) for k in sizes), default=4)
        for name, size in sizes.items():
            print(f"{name:<{width}}  {size / 1024:10.1f} KiB  {size / base:6.1%}" if base else f"{name}  {size}")
    return sizes

