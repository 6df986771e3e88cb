import threading

import numpy as np
import pytest

from app.core.model.embedder import Embedder, ModelSpec, ModelUnavailable


def test_loads_a_config_file_and_checkpoint_like_a_user_would(random_model, tmp_path):
    config, checkpoint = random_model
    e = Embedder(ModelSpec(str(config), str(checkpoint)), tmp_path)
    assert e.model_id.startswith("tiny-random-clip/file-")
    assert e.image_size == 224 and e.device == "cpu"
    texts = e.embed_texts(["a dog", "a cat", "a dog"])
    assert texts.shape == (3, e.dim) and texts.dtype == np.float32
    assert np.allclose(np.linalg.norm(texts, axis=1), 1, atol=1e-5)
    assert np.allclose(texts[0], texts[2])


def test_same_checkpoint_gives_same_vectors_and_model_id(random_model, tmp_path):
    config, checkpoint = random_model
    a = Embedder(ModelSpec(str(config), str(checkpoint)), tmp_path)
    b = Embedder(ModelSpec(str(config), str(checkpoint)), tmp_path)
    assert a.model_id == b.model_id
    assert np.allclose(a.embed_texts(["sunset"]), b.embed_texts(["sunset"]), atol=1e-6)


def test_random_weights_warn_and_are_reproducible(random_model, tmp_path):
    config, _ = random_model
    with pytest.warns(UserWarning, match="random weights"):
        a = Embedder(ModelSpec(str(config), "none"), tmp_path)
    with pytest.warns(UserWarning):
        b = Embedder(ModelSpec(str(config), "none"), tmp_path)
    assert a.model_id.endswith("/none")
    assert np.allclose(a.embed_texts(["x"]), b.embed_texts(["x"]), atol=1e-6)


def test_unknown_model_name_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="unknown model"):
        Embedder(ModelSpec("No-Such-Model", "none"), tmp_path)


def test_offline_download_says_what_to_do(tmp_path, monkeypatch):
    """The default model's weights cannot be fetched here: the error must say so and how to fix it."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as err:
        Embedder(ModelSpec("ViT-B-32-256", "datacomp_s34b_b86k"), tmp_path)
    message = str(err.value)
    assert "offline" in message and "--pretrained" in message and "PHOTOSEEK_PRETRAINED" in message
    # which file, about how big, from where, and where to put it
    repo = "laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K"
    assert f"https://huggingface.co/{repo}/resolve/main/open_clip_model.safetensors" in message
    assert " MB" in message and str(tmp_path / repo) in message


def test_unknown_pretrained_tag_lists_the_known_ones(tmp_path):
    with pytest.raises(ModelUnavailable, match="datacomp_s34b_b86k"):
        Embedder(ModelSpec("ViT-B-32-256", "no_such_tag"), tmp_path)


def _photos(e, n=8):
    import torch

    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 3, e.image_size, e.image_size, generator=g)


def test_the_int8_tower_quantises_attention_too(random_model, tmp_path):
    """Every matrix product in the ViT's blocks runs in int8, attention's projections included (the
    rewritten attention is nn.MultiheadAttention's function), within cosine 0.99 of float32."""
    import copy

    import torch
    from PIL import Image

    from app.core.model.embedder import _quantisable_attention
    from tiny_clip import write_shapes

    e = Embedder(ModelSpec(str(random_model[0]), str(random_model[1])), tmp_path, precision="fp32")
    pictures = e.batch([e.prepare(Image.open(p).convert("RGB")) for p in write_shapes(tmp_path / "s", per_kind=2)])
    exact = e.embed_tensors(pictures)
    assert any(type(m) is torch.nn.MultiheadAttention for m in e.model.visual.modules())

    rewritten = copy.deepcopy(e.model.visual)
    _quantisable_attention(rewritten)
    assert not any(type(m) is torch.nn.MultiheadAttention for m in rewritten.modules())
    with torch.inference_mode():
        same = torch.nn.functional.normalize(rewritten(pictures), dim=-1).numpy()
    assert np.abs(same - exact).max() < 1e-5
    # and with the masks nn.MultiheadAttention takes (True = masked; float: added)
    original, ours = e.model.visual.transformer.resblocks[0].attn, rewritten.transformer.resblocks[0].attn
    x = torch.randn(3, 5, original.embed_dim, generator=torch.Generator().manual_seed(1))
    causal = torch.ones(5, 5, dtype=torch.bool).triu(1)
    for mask in (
        causal,
        torch.zeros(5, 5).masked_fill(causal, float("-inf")),
        causal.repeat(3 * original.num_heads, 1, 1),
    ):
        with torch.inference_mode():
            assert torch.allclose(
                ours(x, x, x, attn_mask=mask)[0], original(x, x, x, need_weights=False, attn_mask=mask)[0], atol=1e-5
            )

    int8 = e.int8_visual()
    float_layers = [type(m) for m in int8.modules() if type(m) in (torch.nn.Linear, torch.nn.MultiheadAttention)]
    assert float_layers == []  # every projection quantised
    with torch.inference_mode():
        fast = torch.nn.functional.normalize(int8(pictures).float(), dim=-1).numpy()
    assert (fast * exact).sum(axis=1).min() >= 0.99 and not np.allclose(fast, exact, atol=1e-6)
    assert np.allclose(e.embed_tensors(pictures), exact, atol=1e-6)  # the float32 tower as it was


def test_int8_image_tower_is_kept_only_when_it_matches_float32(random_model, tmp_path):
    import torch

    config, checkpoint = random_model
    spec = ModelSpec(str(config), str(checkpoint))
    exact = Embedder(spec, tmp_path, precision="fp32")
    reference = exact.embed_tensors(_photos(exact))
    assert exact.precision == "fp32" and exact.fidelity is None

    auto = Embedder(spec, tmp_path, precision="auto")
    auto.quantise_now()  # as the indexer does while it decodes the first photos
    first = auto.embed_tensors(_photos(auto))  # measured on this batch, stored in the precision chosen
    assert auto.fidelity is not None and auto.precision == ("int8" if auto.fidelity >= 0.99 else "fp32")
    assert np.allclose(first, auto.embed_tensors(_photos(auto)), atol=1e-6)  # the same tower from then on
    assert float(np.mean(np.sum(first * reference, axis=1))) >= 0.99

    # once int8 is chosen it takes the float32 tower's place (one copy of the weights is kept);
    # when float32 is, that tower is left as it was by the copy made to compare with it
    quantised = any("quantized" in type(m).__module__ for m in auto.model.visual.modules())
    assert quantised == (auto.precision == "int8")
    if not quantised:
        with torch.inference_mode():
            assert torch.allclose(auto.model.visual(_photos(auto)), exact.model.visual(_photos(exact)), atol=1e-5)

    forced = Embedder(spec, tmp_path, precision="int8")
    forced.embed_tensors(_photos(forced))
    assert forced.precision == "int8"
    fast = forced.embed_tensors(_photos(forced))
    assert not np.allclose(fast, reference, atol=1e-6)  # really the quantised tower...
    assert float(np.mean(np.sum(fast * reference, axis=1))) > 0.9  # ...and still the same model


def test_a_batch_embedded_while_the_precision_is_chosen_gets_the_chosen_tower_s_vectors(random_model, tmp_path):
    """The other lane embeds its batch with the int8 tower before the first batch has chosen; it
    must end up with the vectors of the tower chosen, int8 or (after a bad quantisation) float32."""
    import threading
    import time

    import torch

    config, checkpoint = random_model
    for quantisation_is_bad in (False, True):
        embedder = Embedder(ModelSpec(str(config), str(checkpoint)), tmp_path, precision="auto")
        quantise = embedder.int8_visual

        def slow_int8():
            time.sleep(0.3)  # the second batch arrives before the int8 tower exists
            tower = quantise()
            return (lambda pictures: torch.randn(len(pictures), embedder.dim)) if quantisation_is_bad else tower

        embedder.int8_visual = slow_int8
        g = torch.Generator().manual_seed(1)
        batches = [_photos(embedder), torch.rand(5, 3, embedder.image_size, embedder.image_size, generator=g)]
        out = {}
        lanes = [
            threading.Thread(target=lambda i=i: out.__setitem__(i, embedder.embed_tensors(batches[i])))
            for i in range(2)
        ]
        for lane in lanes:
            lane.start()
            time.sleep(0.05)
        for lane in lanes:
            lane.join()
        assert embedder.precision == ("fp32" if quantisation_is_bad else "int8")
        for i, batch in enumerate(batches):
            assert np.allclose(out[i], embedder.embed_tensors(batch), atol=1e-5)


def test_text_without_its_padding_gives_the_model_s_own_vectors(trained_model, tmp_path):
    import torch

    embedder = Embedder(ModelSpec(str(trained_model[0]), str(trained_model[1])), tmp_path)
    assert embedder._short_text  # a causal CLIP text tower: the padding can go
    texts = ["a red circle", "a photo of a blue square on a light background", "red"]
    ours = embedder.encode_texts(texts)
    with torch.inference_mode():
        reference = torch.nn.functional.normalize(embedder.model.encode_text(embedder.tokenizer(texts)), dim=-1)
    assert np.allclose(ours, reference.numpy(), atol=1e-5)
    assert np.allclose(embedder.embed_texts(texts), ours, atol=1e-6)


def test_batched_model_input_is_open_clips_preprocessing(random_model, tmp_path):
    """`prepare` + `batch` (Pillow crop-and-resize, normalised a batch at a time) give the tensors
    open_clip's own transform gives, for wide, tall, square and smaller-than-input pictures."""
    import open_clip
    import torch
    from PIL import Image

    e = Embedder(ModelSpec(str(random_model[0]), str(random_model[1])), tmp_path)
    rng = np.random.default_rng(0)
    pictures = []
    for w, h in [(640, 480), (300, 500), (224, 224), (150, 100), (640, 427)]:
        smooth = rng.random((h // 10 + 1, w // 10 + 1, 3)) * 255  # photo-like: no pixel noise
        pictures.append(Image.fromarray(smooth.astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC))
    ours = e.batch([e.prepare(p) for p in pictures])
    reference = torch.stack([e.preprocess(p) for p in pictures])
    assert ours.shape == reference.shape
    assert float((ours - reference).abs().mean()) < 0.05  # (values span about -1.8 .. 2.1)
    cos = (e.embed_tensors(ours) * e.embed_tensors(reference)).sum(axis=1)
    assert cos.min() > 0.999
    # the indexer resizes the short side once (imaging.shrink_short_side) and `prepare` only cuts the
    # centre square: exactly open_clip's resize and crop
    from app.core.ingest import imaging

    for picture in pictures[:2] + pictures[-1:]:
        cut = e.prepare(imaging.shrink_short_side(picture, e.image_size))
        assert float((torch.from_numpy(cut) - e.preprocess(picture)).abs().max()) < 1e-4

    # other kinds of transform (SigLIP's squash, letterboxing) keep open_clip's own preprocessing
    from app.core.model.embedder import _fast_input

    for mode in ("squash", "longest"):
        assert _fast_input(open_clip.image_transform(224, is_train=False, resize_mode=mode)) is None


def test_a_query_is_encoded_while_photos_are_being_embedded(random_model, tmp_path):
    """A search typed during indexing does not wait for the batch of photos being embedded."""
    config, checkpoint = random_model
    embedder = Embedder(ModelSpec(str(config), str(checkpoint)), tmp_path, precision="fp32")
    inside, release = threading.Event(), threading.Event()
    forward = embedder.model.visual.forward

    def held_forward(x):  # a batch of photos that lasts as long as this test needs
        inside.set()
        release.wait(10)
        return forward(x)

    embedder.model.visual.forward = held_forward
    batch = threading.Thread(target=embedder.embed_tensors, args=(_photos(embedder),))
    batch.start()
    try:
        assert inside.wait(10)
        assert embedder.embed_texts(["a red circle"]).shape == (1, embedder.dim)
        assert batch.is_alive()  # the query did not wait for the photos
    finally:
        release.set()
        batch.join()


def test_side_by_side_batches_give_their_cores_back_even_to_threads_first_used_meanwhile(random_model, tmp_path):
    """Indexing embeds batches side by side on one thread each; a thread that first computed then
    (a search during indexing) must answer later queries on every core again."""
    import queue

    import torch

    threads = torch.get_num_threads()
    if threads < 2:
        pytest.skip("one core: nothing to share")
    config, checkpoint = random_model
    embedder = Embedder(ModelSpec(str(config), str(checkpoint)), tmp_path, precision="fp32")
    asks, answers = queue.Queue(), queue.Queue()

    def searcher():  # a long-lived worker thread, like the window's
        while text := asks.get():
            embedder.embed_texts([text])
            answers.put(torch.get_num_threads())

    worker = threading.Thread(target=searcher)
    worker.start()
    lanes = embedder.lanes
    try:
        with embedder.side_by_side(lanes):
            assert torch.get_num_threads() == threads // lanes
            asks.put("a red circle")
            assert answers.get(timeout=60) <= threads
        assert torch.get_num_threads() == threads
        asks.put("a blue square")
        assert answers.get(timeout=60) == threads
    finally:
        asks.put("")
        worker.join()
