"""The augmentation explorer of lesson 4: a control per :class:`~fer_helpers.augment.AugmentConfig` setting."""

from __future__ import annotations

import dataclasses
import html

import cv2
import ipywidgets as widgets
import numpy as np

from .augment import FILL_MODES, PRESETS, AugmentConfig, augment_grid, face_stack, get_preset
from .labels import describe


def config_code(config: AugmentConfig) -> str:
    """``AugmentConfig(...)`` with the settings that differ from the defaults, rounded to 3 digits."""
    parts = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        value = tuple(round(v, 3) for v in value) if isinstance(value, tuple) else value
        value = round(value, 3) if isinstance(value, float) else value
        if value != field.default:
            parts.append(f"{field.name}={value!r}")
    return f"AugmentConfig({', '.join(parts)})"


def _controls() -> dict:
    """One widget per :class:`AugmentConfig` field, spanning the values it accepts."""
    slider = dict(style={"description_width": "140px"}, layout=widgets.Layout(width="420px"))
    checkbox = dict(indent=False, layout=widgets.Layout(width="auto", margin="2px 16px 2px 0"))
    return dict(
        width_shift_range=widgets.FloatSlider(min=0, max=0.5, step=0.01, **slider),
        height_shift_range=widgets.FloatSlider(min=0, max=0.5, step=0.01, **slider),
        rotation_range=widgets.FloatSlider(min=0, max=180, step=1, **slider),
        zoom_range=widgets.FloatRangeSlider(min=0.1, max=2, step=0.01, **slider),
        brightness_range=widgets.FloatRangeSlider(value=(0.8, 1.2), min=0, max=3, step=0.01, **slider),
        horizontal_flip=widgets.Checkbox(**checkbox),
        vertical_flip=widgets.Checkbox(**checkbox),
        fill_mode=widgets.Dropdown(options=FILL_MODES, style=slider["style"]),
        cval=widgets.IntSlider(min=0, max=255, **slider),
    )


def _png(row: np.ndarray, scale: int) -> bytes:
    """Faces ``(k, H, W)`` side by side with 2-pixel white gaps, enlarged ``scale`` times, as PNG bytes."""
    gap = np.full((row.shape[1], 2), 255, np.uint8)
    strip = np.hstack([part for face in row for part in (face, gap)][:-1])
    return cv2.imencode(".png", np.kron(strip, np.ones((scale, scale), np.uint8)))[1].tobytes()


def _title(label) -> str:
    return html.escape(label if isinstance(label, str) else describe(int(label)))


class AugmentationExplorer(widgets.VBox):
    """A control per setting, a preset menu and a "new samples" button above rows of augmented copies of ``faces``
    (column 1 the original) and the settings as code. :attr:`config` reads the controls."""

    def __init__(self, faces, labels=None, config="default", n_per_face: int = 8, seed: int = 0, scale: int = 2):
        self.faces, self.n_per_face, self.seed, self.scale = face_stack(faces), n_per_face, seed, scale
        titles = [""] * len(self.faces) if labels is None else [_title(label) for label in labels]
        if len(titles) != len(self.faces):
            raise ValueError(f"got {len(titles)} labels for {len(self.faces)} faces")
        self.controls, self._busy = _controls(), False
        self.brightness_on = widgets.Checkbox(description="use brightness_range", indent=False)
        for name, control in self.controls.items():
            control.description = name
        for control in [*self.controls.values(), self.brightness_on]:
            control.observe(self.update, names="value")
        self.preset = widgets.Dropdown(options=[*PRESETS, "custom"], description="preset")
        self.preset.observe(self._on_preset, names="value")
        resample = widgets.Button(description="new samples", icon="refresh")
        resample.on_click(self.new_samples)
        self.rows = [widgets.Image(format="png") for _ in self.faces]
        self.code = widgets.HTML()
        c = self.controls
        flips = widgets.HBox([c["horizontal_flip"], c["vertical_flip"]])
        settings = [self.preset, c["width_shift_range"], c["height_shift_range"], c["rotation_range"], c["zoom_range"],
                    self.brightness_on, c["brightness_range"], flips, c["fill_mode"], c["cval"], resample]
        rows = [widgets.HBox([widgets.HTML(f"<b>{title}</b>", layout=widgets.Layout(width="90px")), row])
                for title, row in zip(titles, self.rows)]
        super().__init__([*settings, widgets.HTML("<i>column 1: original; the others: augmented</i>"), *rows,
                          self.code])
        self.set_config(config)

    @property
    def config(self) -> AugmentConfig:
        """The :class:`AugmentConfig` that the controls describe."""
        values = {name: control.value for name, control in self.controls.items()}
        if not self.brightness_on.value:
            values["brightness_range"] = None
        return AugmentConfig(**values)

    def set_config(self, config) -> None:
        """Move the controls to ``config`` (an :class:`AugmentConfig` or a preset name) and redraw once."""
        config = get_preset(config)
        self._busy = True  # one redraw at the end, not one per control
        for name, control in self.controls.items():
            if getattr(config, name) is not None:
                control.value = getattr(config, name)
        self.brightness_on.value = config.brightness_range is not None
        self._busy = False
        self.update()

    def _on_preset(self, change) -> None:
        if change["new"] != "custom" and not self._busy:
            self.set_config(change["new"])

    def new_samples(self, button=None) -> None:
        """Draw other random copies."""
        self.seed += 1
        self.update()

    def update(self, change=None) -> None:
        """Redraw the faces from the controls (every control calls this when it changes)."""
        if self._busy:
            return
        self.controls["brightness_range"].disabled = not self.brightness_on.value
        self.controls["cval"].disabled = self.controls["fill_mode"].value != "constant"
        config = self.config
        for image, row in zip(self.rows, augment_grid(self.faces, config, self.n_per_face, self.seed)):
            image.value = _png(row, self.scale)
        code = config_code(config)
        self.code.value = f"<code>{html.escape(code)}</code>"
        self._busy = True  # showing the matching preset must not apply it again
        self.preset.value = next((name for name, p in PRESETS.items() if config_code(p) == code), "custom")
        self._busy = False
