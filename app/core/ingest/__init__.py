"""Photos in: walking folders, fingerprints, decoding (within a pixel budget), the indexing
pipeline and reading the text inside photos."""
