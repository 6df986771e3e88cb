"""The pipeline's one reduced decode must give the embedding open_clip's reference preprocessing gives."""

import numpy as np
import pytest
import torch
from PIL import Image

from app.core.ingest import imaging
from app.core.model.embedder import Embedder, ModelSpec
from helpers import devdata


@pytest.mark.parametrize("dataset", ["flickr8k", "imagenet_samples", "imagenette"])
def test_pipeline_embedding_matches_reference_preprocessing(random_model, tmp_path, dataset):
    folder = devdata("text2img", dataset, "images")
    embedder = Embedder(ModelSpec(str(random_model[0]), str(random_model[1])), tmp_path)
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert paths
    cosines = []
    for start in range(0, len(paths), 32):
        chunk = paths[start : start + 32]
        ours = [embedder.prepare(imaging.decode(p, min_side=embedder.image_size).image) for p in chunk]
        reference = [embedder.preprocess(Image.open(p).convert("RGB")) for p in chunk]
        a = embedder.embed_tensors(embedder.batch(ours))
        b = embedder.embed_tensors(torch.stack(reference))
        cosines.extend((a * b).sum(axis=1))
    cosines = np.array(cosines)
    assert cosines.min() >= 0.99, f"worst {cosines.min():.4f} on {paths[int(cosines.argmin())].name}"
