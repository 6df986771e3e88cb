"""What is kept: the SQLite catalog (the source of truth), its backups and repair, the FAISS index
derived from it, and the catalog's text search."""
