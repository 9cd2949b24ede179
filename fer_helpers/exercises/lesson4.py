"""Exercises of lesson 4: data augmentation with Keras 3 preprocessing layers.

Their hints and worked solutions are in lesson4.md.
"""

import keras
import numpy as np

from .core import Exercise, exercise, fail, layers_of, need

LEGACY = "ImageDataGenerator(rotation_range=30, zoom_range=(0.7, 1.0))"


def pipeline_layers(pipeline) -> list:
    """The layers of an augmentation pipeline, which must be one Keras layer (a keras.Sequential)."""
    if isinstance(pipeline, (list, tuple)):
        fail("that is a list of layers: wrap it in keras.Sequential([...]) so that it works as one layer")
    need(pipeline, keras.layers.Layer, "a keras.Sequential of augmentation layers")
    return layers_of(pipeline)


def factor_range(factor) -> tuple[float, float]:
    """A Random... layer's factor as (low, high): a single number f means (-f, f)."""
    if isinstance(factor, (list, tuple)):
        return float(factor[0]), float(factor[1])
    return -abs(float(factor)), abs(float(factor))


def widest(factor) -> float:
    return max(abs(v) for v in factor_range(factor))


@exercise(4, 1)
def q1(pipeline):
    layers = pipeline_layers(pipeline)
    kinds = [type(layer).__name__ for layer in layers]
    if not any(kind.startswith("Random") for kind in kinds):
        fail(f"no random augmentation layer among {kinds}: use RandomFlip, RandomRotation, RandomZoom, ...")
    for layer, kind in zip(layers, kinds):
        if kind == "RandomFlip" and layer.mode != "horizontal":
            fail(f"RandomFlip(mode={layer.mode!r}) turns faces upside down: use RandomFlip('horizontal'); "
                 "RandomFlip() without a mode flips both ways")
        if kind == "RandomRotation" and widest(layer.factor) > 0.1:
            fail(f"RandomRotation turns faces by up to {widest(layer.factor) * 360:.0f} degrees: its factor is a "
                 "fraction of a full turn (0.05 = 18 degrees); keep it at most 0.1")
        if kind == "RandomZoom" and widest(layer.height_factor) > 0.3:
            fail(f"RandomZoom's factor {layer.height_factor} is too strong: keep it within +-0.3 (scale - 1)")
        if kind == "RandomTranslation" and max(widest(layer.height_factor), widest(layer.width_factor)) > 0.25:
            fail("RandomTranslation moves faces by more than a quarter of the image: its factors are fractions of "
                 "the size; keep them at most 0.2")
    faces = np.random.default_rng(4).integers(0, 256, (4, 48, 48, 1)).astype("float32")
    out = np.asarray(pipeline(faces, training=True))
    if out.shape != faces.shape:
        fail(f"the pipeline changes the shape {faces.shape} to {out.shape}: augmentation must keep (48, 48, 1)")
    if not np.array_equal(np.asarray(pipeline(faces, training=False)), faces):
        fail("with training=False the pipeline still changes the faces: use only the Random... layers, which "
             "switch themselves off outside training")
    return "a face-friendly augmentation: " + ", ".join(kinds)


ZOOM_MISTAKES = {
    (0.7, 1.0): "RandomZoom((0.7, 1.0)) uses ImageDataGenerator's scales; RandomZoom wants scale - 1: (-0.3, 0.0)",
    (0.0, 0.3): "positive RandomZoom factors zoom OUT; scales 0.7..1.0 zoom in, which is (0.7 - 1, 1.0 - 1) = "
                "(-0.3, 0.0)",
    (-0.3, 0.3): "RandomZoom(0.3) zooms in AND out by up to 30%; zoom_range=(0.7, 1.0) only zooms in: (-0.3, 0.0)",
}


@exercise(4, 2)
def q2(pipeline):
    by_kind = {type(layer).__name__: layer for layer in pipeline_layers(pipeline)}
    if not {"RandomRotation", "RandomZoom"} <= set(by_kind):
        fail(f"expected a RandomRotation and a RandomZoom layer, found {list(by_kind)}")
    degrees = tuple(round(v * 360) for v in factor_range(by_kind["RandomRotation"].factor))
    if degrees == (-60, 60):
        fail("RandomRotation's factor is a fraction of a FULL turn (360 degrees): 30 degrees is 30 / 360, not 30 / 180")
    if degrees != (-30, 30):
        fail(f"RandomRotation turns by {degrees[0]}..{degrees[1]} degrees, expected -30..30: "
             "factor = rotation_range / 360")
    zoom = by_kind["RandomZoom"]
    for factor in (zoom.height_factor, zoom.width_factor or zoom.height_factor):
        low, high = (round(v, 3) for v in factor_range(factor))
        if (low, high) != (-0.3, 0.0):
            fail(ZOOM_MISTAKES.get((low, high), f"RandomZoom's factors are {zoom.height_factor} and "
                                                f"{zoom.width_factor}, expected (-0.3, 0.0): factor = scale - 1"))
    return f"the layers of {LEGACY}"


q3 = Exercise(4, 3)  # answered in words
