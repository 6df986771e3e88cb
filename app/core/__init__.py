"""Headless engine: catalog, scanning, imaging, embedding, index, query, indexing pipeline. No Qt here."""
