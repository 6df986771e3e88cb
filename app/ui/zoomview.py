"""The viewer's picture: fitted to the window by default (never blown up), zoomed with the wheel
about the cursor, panned by dragging.

Zoom is in device pixels per pixel of the original photo, so 100 % is the photo's own pixels, one
to one on the screen. The picture painted may be a smaller decode of it (the thumbnail, a
screen-sized read): it is stretched to the original's size, and `detail_wanted` asks for more
pixels when the zoom shows more than it holds.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

ZOOM_STEP = 1.25  # one +/- press or one wheel notch
MAX_ZOOM = 16.0  # 1600 %: single pixels are large squares by then


class ZoomView(QWidget):
    """One image centred on a dark background; `zoom_changed` says the new level ("Fit" or %)."""

    BACKGROUND = QColor(24, 24, 24)

    zoom_changed = Signal()
    detail_wanted = Signal(float)  # the zoom now shown needs more pixels than the image holds

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image = QImage()
        self._natural = QSize()  # the original photo's upright size (what 100 % shows)
        self._message = ""
        self._fitted = True
        self._zoom = 1.0  # used when not fitted
        self._centre = QPointF()  # the original-pixel point at the middle of the view
        self._drag_from: QPointF | None = None
        self._scaled = QPixmap()  # a smooth shrink of the image, cached for one target size
        self.setMinimumSize(200, 150)
        self.setMouseTracking(False)

    # -- what is shown

    def image(self) -> QImage:
        return self._image

    def message(self) -> str:
        return self._message

    def set_image(self, image: QImage, natural: QSize | None = None, keep_view: bool = False) -> None:
        """Show `image` as a picture of `natural` original pixels (its own size when unknown).
        `keep_view`: a sharper read of the same photo, so the zoom and the place stay."""
        self._image, self._message, self._scaled = image, "", QPixmap()
        self._natural = QSize(natural) if natural is not None and natural.isValid() else image.size()
        if not keep_view:
            self._fitted, self._centre = True, self._middle()
        self._settle()

    def set_message(self, text: str) -> None:
        self._image, self._message, self._scaled, self._natural = QImage(), text, QPixmap(), QSize()
        self._fitted = True
        self._settle()

    # -- zoom

    def is_fitted(self) -> bool:
        return self._fitted

    def zoom(self) -> float:
        """Device pixels per original pixel now (1.0 is 100 %)."""
        return self.fit_zoom() if self._fitted else self._zoom

    def fit_zoom(self) -> float:
        """The zoom that fits the whole photo in the view; at most 100 % (small photos stay crisp)."""
        if self._natural.isEmpty():
            return 1.0
        dpr = self.devicePixelRatioF()
        return min(1.0, self.width() * dpr / self._natural.width(), self.height() * dpr / self._natural.height())

    def zoom_text(self) -> str:
        """ "Fit (27 %)" when fitted, else the zoom: "250 %"."""
        percent = f"{round(100 * self.zoom())} %"
        return f"Fit ({percent})" if self._fitted else percent

    def fit(self) -> None:
        self._fitted, self._centre = True, self._middle()
        self._settle()

    def set_zoom(self, zoom: float, about: QPointF | None = None) -> None:
        """Zoom to `zoom`, keeping the photo's point under `about` (widget coordinates; the middle
        when None) where it is. Down to the fitted size at least: below it, the photo is fitted."""
        if self._image.isNull():
            return
        fit = self.fit_zoom()
        zoom = min(max(zoom, fit), max(MAX_ZOOM, fit))
        anchor = about if about is not None else QPointF(self.width() / 2, self.height() / 2)
        under = self.photo_point(anchor)
        if zoom <= fit + 1e-9 and fit < 1.0:
            self.fit()
            return
        self._fitted, self._zoom = False, zoom
        offset = (anchor - QPointF(self.width() / 2, self.height() / 2)) * (self.devicePixelRatioF() / zoom)
        self._centre = under - offset
        self._settle()

    def zoom_by(self, factor: float, about: QPointF | None = None) -> None:
        self.set_zoom(self.zoom() * factor, about)

    def toggle_fit(self, about: QPointF | None = None) -> None:
        """Fit <-> 100 % (a double-click, like the loupe of a photo app)."""
        if self._fitted and self.fit_zoom() < 1.0:
            self.set_zoom(1.0, about)
        else:
            self.fit()

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the photo by (dx, dy) widget pixels, within its edges."""
        if self._fitted:
            return
        self._centre -= QPointF(dx, dy) * (self.devicePixelRatioF() / self._zoom)
        self._settle()

    def photo_point(self, pos: QPointF) -> QPointF:
        """The original-photo point shown at widget position `pos`."""
        offset = pos - QPointF(self.width() / 2, self.height() / 2)
        return self._centre + offset * (self.devicePixelRatioF() / self.zoom())

    def centre(self) -> QPointF:
        return QPointF(self._centre)

    # -- inside

    def _middle(self) -> QPointF:
        return QPointF(self._natural.width() / 2, self._natural.height() / 2)

    def _settle(self) -> None:
        """Keep the photo covering the view where it is larger than it, centred where smaller."""
        if not self._natural.isEmpty():
            zoom, dpr = self.zoom(), self.devicePixelRatioF()
            half_w, half_h = self.width() * dpr / zoom / 2, self.height() * dpr / zoom / 2
            w, h = self._natural.width(), self._natural.height()
            x = w / 2 if half_w * 2 >= w else min(max(self._centre.x(), half_w), w - half_w)
            y = h / 2 if half_h * 2 >= h else min(max(self._centre.y(), half_h), h - half_h)
            self._centre = QPointF(x, y)
            if not self._image.isNull() and self._image.width() < w and zoom * w > self._image.width() * 1.05:
                self.detail_wanted.emit(zoom)
        self.setCursor(Qt.CursorShape.ArrowCursor if self._fitted else Qt.CursorShape.OpenHandCursor)
        self.update()
        self.zoom_changed.emit()

    def _target(self) -> QRectF:
        """Where the whole photo lies, in widget coordinates."""
        scale = self.zoom() / self.devicePixelRatioF()
        size = QSizeF(self._natural.width() * scale, self._natural.height() * scale)
        middle = QPointF(self.width() / 2, self.height() / 2)
        return QRectF(middle - self._centre * scale, size)

    def _shrunk(self, device: QSize) -> QPixmap:
        # A smooth shrink, made once per size: drawing a large image smaller on the fly is bilinear
        # (jagged), and rescaling on every paint is not free.
        if self._scaled.size() != device:
            self._scaled = QPixmap.fromImage(
                self._image.scaled(
                    device, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )
        return self._scaled

    # -- Qt overrides

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.BACKGROUND)
        if self._image.isNull():
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(
                self.rect().adjusted(20, 20, -20, -20),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._message,
            )
            return
        target = self._target()
        dpr = self.devicePixelRatioF()
        device = QSize(round(target.width() * dpr), round(target.height() * dpr))
        if device.width() <= self._image.width() and device.width() * device.height() <= 64_000_000:
            pixmap = self._shrunk(device)
            painter.drawPixmap(target, pixmap, QRectF(pixmap.rect()))
            return
        # Enlarged: only the part in view is drawn, interpolated (or square pixels past 200 %).
        smooth = self.zoom() < 2.0 or self._image.width() < self._natural.width()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(target, self._image, QRectF(self._image.rect()))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._settle()

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta().y()  # (a sideways swipe is not a zoom)
        if not delta or self._image.isNull():
            event.ignore()
            return
        self.zoom_by(ZOOM_STEP ** (delta / 120), event.position())
        event.accept()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.toggle_fit(event.position())
            event.accept()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and not self._fitted:
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag_from is not None:
            moved = event.position() - self._drag_from
            self._drag_from = event.position()
            self.pan_by(moved.x(), moved.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag_from is not None:
            self._drag_from = None
            self.setCursor(Qt.CursorShape.ArrowCursor if self._fitted else Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)
