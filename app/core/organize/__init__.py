"""Tidying a library: finding duplicates, moving photos to the trash and back."""
