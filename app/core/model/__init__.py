"""The CLIP model: choosing it by name, fetching its weights, loading it and embedding with it."""
