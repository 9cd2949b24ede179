"""Exercises of lesson 4: data augmentation with Keras 3 preprocessing layers."""

import numpy as np

from ._base import CodingExercise, Mistake, ThoughtExercise, fail

RANDOM_KINDS = ("RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "RandomBrightness",
                "RandomContrast", "RandomBrightnessMultiply", "RandomAffine")


def _layers(pipeline):
    import keras

    if isinstance(pipeline, (list, tuple)):
        fail("that is a list of layers: wrap it in keras.Sequential([...]) so that it works as one layer")
    if not isinstance(pipeline, keras.layers.Layer):
        fail(f"expected a keras.Sequential of augmentation layers, got a {type(pipeline).__name__}")
    found = list(getattr(pipeline, "layers", [pipeline]))
    return [sub for layer in found for sub in (getattr(layer, "layers", None) or [layer])]


def _factor_range(factor):
    if isinstance(factor, (list, tuple)):
        return float(factor[0]), float(factor[1])
    return -abs(float(factor)), abs(float(factor))


def _faces():
    from ..synthetic import generate_faces

    return generate_faces(1, seed=4)[0][:4, ..., None].astype("float32")


def _check_pipeline(pipeline):
    layers = _layers(pipeline)
    kinds = [type(layer).__name__ for layer in layers]
    if not any(kind in RANDOM_KINDS for kind in kinds):
        fail(f"no random augmentation layer among {kinds}: use RandomFlip, RandomRotation, RandomZoom, ...")
    for layer in layers:
        kind = type(layer).__name__
        if kind == "RandomFlip" and layer.mode != "horizontal":
            fail(f"RandomFlip(mode={layer.mode!r}) turns faces upside down: use RandomFlip('horizontal'); "
                 "RandomFlip() without a mode flips both ways")
        if kind == "RandomRotation":
            low, high = _factor_range(layer.factor)
            if max(abs(low), abs(high)) > 0.1:
                fail(f"RandomRotation turns faces by up to {max(abs(low), abs(high)) * 360:.0f} degrees: its factor "
                     "is a fraction of a full turn (0.05 = 18 degrees); keep it at most 0.1")
        if kind == "RandomZoom":
            low, high = _factor_range(layer.height_factor)
            if max(abs(low), abs(high)) > 0.3:
                fail(f"RandomZoom's factor {layer.height_factor} is too strong: keep it within +-0.3 (scale - 1)")
        if kind == "RandomTranslation":
            for factor in (layer.height_factor, layer.width_factor):
                if max(abs(v) for v in _factor_range(factor)) > 0.25:
                    fail("RandomTranslation moves faces by more than a quarter of the image: factors are "
                         "fractions of the size; keep them at most 0.2")
    faces = _faces()
    out = np.asarray(pipeline(faces, training=True))
    if out.shape != faces.shape:
        fail(f"the pipeline changes the shape {faces.shape} to {out.shape}: augmentation must keep (48, 48, 1)")
    if not np.array_equal(np.asarray(pipeline(faces, training=False)), faces):
        fail("with training=False the pipeline still changes the faces: use only the Random... layers, which "
             "switch themselves off outside training")
    return "a face-friendly augmentation: " + ", ".join(kinds)


def _pipeline(*extra, flip="horizontal"):
    import keras
    from keras import layers

    return keras.Sequential([layers.RandomFlip(flip), layers.RandomRotation(0.05, fill_mode="nearest"),
                             layers.RandomZoom(0.1, fill_mode="nearest"), *extra])


q1 = CodingExercise(
    lesson=4, number=1, title="an augmentation pipeline for faces with keras.Sequential",
    hint_text="keras.Sequential([layers.RandomFlip('horizontal'), layers.RandomRotation(0.05), "
              "layers.RandomZoom(0.1), ...]): mirror left-right only, and keep the changes small.",
    solution_text=("from keras import layers\n\nanswer = keras.Sequential([\n"
                   "    layers.RandomFlip(\"horizontal\"),\n"
                   "    layers.RandomRotation(0.05, fill_mode=\"nearest\"),  # +-18 degrees\n"
                   "    layers.RandomTranslation(0.1, 0.1, fill_mode=\"nearest\"),\n"
                   "    layers.RandomZoom(0.1, fill_mode=\"nearest\"),\n])\nex.q1.check(answer)"),
    validate=_check_pipeline,
    make_reference=_pipeline,
    mistakes=[
        Mistake("flip both ways", lambda: _pipeline(flip="horizontal_and_vertical"), "upside down"),
        Mistake("degrees as a fraction", lambda: _pipeline(__import__("keras").layers.RandomRotation(0.5)),
                "fraction of a full turn"),
        Mistake("a list", lambda: [__import__("keras").layers.RandomFlip("horizontal")], "keras.Sequential"),
        Mistake("a crop", lambda: _pipeline(__import__("keras").layers.RandomCrop(40, 40)), "changes the shape"),
    ],
)

LEGACY = "ImageDataGenerator(rotation_range=30, zoom_range=(0.7, 1.0))"


def _check_port(pipeline):
    layers = _layers(pipeline)
    by_kind = {type(layer).__name__: layer for layer in layers}
    if "RandomRotation" not in by_kind or "RandomZoom" not in by_kind:
        fail(f"expected a RandomRotation and a RandomZoom layer, found {list(by_kind)}")
    low, high = _factor_range(by_kind["RandomRotation"].factor)
    if np.allclose([low, high], [-30 / 180, 30 / 180], atol=1e-3):
        fail("RandomRotation's factor is a fraction of a FULL turn (360 degrees): 30 degrees is 30 / 360, not 30 / 180")
    if not np.allclose([low, high], [-30 / 360, 30 / 360], atol=1e-3):
        fail(f"RandomRotation turns by {low * 360:.0f}..{high * 360:.0f} degrees, expected -30..30: "
             "factor = rotation_range / 360")
    zoom = _factor_range(by_kind["RandomZoom"].height_factor)
    if np.allclose(zoom, [0.7, 1.0], atol=1e-3):
        fail("RandomZoom((0.7, 1.0)) uses ImageDataGenerator's scales; RandomZoom wants scale - 1: (-0.3, 0.0)")
    if np.allclose(zoom, [0.0, 0.3], atol=1e-3):
        fail("positive RandomZoom factors zoom OUT; scales 0.7..1.0 zoom in, which is (0.7 - 1, 1.0 - 1) = (-0.3, 0.0)")
    if np.allclose(zoom, [-0.3, 0.3], atol=1e-3):
        fail("RandomZoom(0.3) zooms in AND out by up to 30%; zoom_range=(0.7, 1.0) only zooms in: (-0.3, 0.0)")
    if not np.allclose(zoom, [-0.3, 0.0], atol=1e-3):
        fail(f"RandomZoom's factor is {zoom}, expected (-0.3, 0.0): factor = scale - 1 for both ends")
    width = by_kind["RandomZoom"].width_factor
    if width is not None and not np.allclose(_factor_range(width), [-0.3, 0.0], atol=1e-3):
        fail("give width_factor the same range as height_factor (or leave it None, which keeps the aspect ratio)")
    return f"the layers of {LEGACY}"


def _port(rotation=30 / 360, zoom=(-0.3, 0.0)):
    import keras
    from keras import layers

    return keras.Sequential([layers.RandomRotation(rotation, fill_mode="nearest"),
                             layers.RandomZoom(zoom, fill_mode="nearest")])


q2 = CodingExercise(
    lesson=4, number=2, title=f"port {LEGACY} to Keras 3 layers",
    hint_text="RandomRotation's factor is a fraction of a full turn; RandomZoom's factor is scale - 1, and a "
              "negative factor zooms in.",
    solution_text=("from keras import layers\n\nanswer = keras.Sequential([\n"
                   "    layers.RandomRotation(30 / 360, fill_mode=\"nearest\"),\n"
                   "    layers.RandomZoom((0.7 - 1, 1.0 - 1), fill_mode=\"nearest\"),  # (-0.3, 0.0): zoom in only\n"
                   "])\nex.q2.check(answer)"),
    validate=_check_port,
    make_reference=_port,
    mistakes=[
        Mistake("half turn", lambda: _port(rotation=30 / 180), "FULL turn"),
        Mistake("scales as factors", lambda: _port(zoom=(0.7, 1.0)), "scale - 1"),
        Mistake("zoom sign", lambda: _port(zoom=(0.0, 0.3)), "zoom OUT"),
        Mistake("symmetric zoom", lambda: _port(zoom=0.3), "zooms in AND out"),
    ],
)

q3 = ThoughtExercise(
    lesson=4, number=3, title="why only the training data is augmented",
    hint_text="What is the validation score for? What would it measure if the validation faces changed every epoch?",
    solution_text=("Augmentation is a way to show the network more varied training faces, so that it learns what "
                   "does not change the expression (position, size, tilt, lighting, mirroring). The validation and "
                   "test faces must stay fixed: they measure how well the model does on faces as they really come, "
                   "and a score on randomly changed faces would vary from epoch to epoch and describe a different "
                   "task. Keras helps: the Random... layers only act with training=True (inside fit), and are "
                   "switched off in predict and evaluate."),
)
