"""The Qt window. Everything Qt lives in this package; the engine is in app.core."""
