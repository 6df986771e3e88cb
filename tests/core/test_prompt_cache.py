"""The concept prompts are encoded a saved chunk at a time: an interrupted run keeps its chunks,
the next one encodes only the rest, and the vectors are the same as those of one uninterrupted
run. The phase is reported as progress, and Ctrl-C in it ends `photoseek index` with one line."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.core.library import Library
from app.core.model.embedder import Embedder, ModelSpec
from app.core.search.concepts import builtin_concepts
from app.core.search.prompt_cache import CHUNK, PromptCache
from tiny_clip import write_shapes

REPO = Path(__file__).resolve().parents[2]
TEXTS = [p for c in builtin_concepts() for p in c.prompts][: 4 * CHUNK + 76]  # 5 chunks, the last short


@pytest.fixture(scope="module")
def embedder(random_model, tmp_path_factory):
    config, checkpoint = random_model
    return Embedder(ModelSpec(str(config), str(checkpoint)), tmp_path_factory.mktemp("models"), device="cpu")


class _Counting:
    """The embedder's own encoding, counting the prompts it is asked for."""

    def __init__(self, embedder):
        self.embedder, self.encoded = embedder, 0

    def __call__(self, chunk):
        self.encoded += len(chunk)
        return self.embedder.encode_texts(chunk, batch_size=CHUNK)


def test_stopped_and_resumed_gives_the_vectors_of_one_run(embedder, tmp_path):
    whole = PromptCache(tmp_path / "whole", embedder.model_id).vectors(TEXTS, _Counting(embedder))
    first = _Counting(embedder)
    cache = PromptCache(tmp_path / "resumed", embedder.model_id)
    assert cache.vectors(TEXTS, first, should_stop=lambda: first.encoded >= 2 * CHUNK) is None
    assert first.encoded == 2 * CHUNK
    rest, reports = _Counting(embedder), []
    resumed = PromptCache(tmp_path / "resumed", embedder.model_id).vectors(
        TEXTS, rest, progress=lambda done, total: reports.append((done, total))
    )
    assert rest.encoded == len(TEXTS) - 2 * CHUNK  # only what the first run had not done
    assert reports[0] == (2 * CHUNK, len(TEXTS)) and reports[-1] == (len(TEXTS), len(TEXTS))
    assert resumed.shape == whole.shape == (len(TEXTS), embedder.dim)
    assert np.allclose(resumed, whole, atol=1e-3)
    again = _Counting(embedder)
    assert np.array_equal(cache.vectors(TEXTS, again), resumed) and again.encoded == 0


def test_an_interrupt_keeps_the_chunks_done(embedder, tmp_path):
    """KeyboardInterrupt (Ctrl-C) from inside the phase: what was saved stays saved."""

    def interrupt_after_three(done, total):
        if done >= 3 * CHUNK:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        PromptCache(tmp_path, embedder.model_id).vectors(TEXTS, _Counting(embedder), progress=interrupt_after_three)
    rest = _Counting(embedder)
    PromptCache(tmp_path, embedder.model_id).vectors(TEXTS, rest)
    assert rest.encoded == len(TEXTS) - 3 * CHUNK
    assert not list(tmp_path.glob("*.tmp"))


def test_another_model_encodes_its_own(embedder, tmp_path):
    PromptCache(tmp_path, embedder.model_id).vectors(TEXTS[:CHUNK], _Counting(embedder))
    other = _Counting(embedder)
    PromptCache(tmp_path, "another/model").vectors(TEXTS[:CHUNK], other)
    assert other.encoded == CHUNK


def _tags_by_name(library: Library) -> dict[str, list[tuple[str, float]]]:
    return {Path(r.path).name: library.concept_tags(r.id) for r in library.photos()}


def test_the_library_reports_the_prompts_phase_and_resumes_it(make_settings, random_model, tmp_path):
    write_shapes(tmp_path / "lib", per_kind=1)
    prompts = sum(len(c.prompts) for c in builtin_concepts())
    interrupted = Library(make_settings(random_model, data_dir=tmp_path / "a"))
    interrupted.update([tmp_path / "lib"])
    seen = []

    def ctrl_c_after_two_chunks(p):
        seen.append((p.phase, p.done, p.total))
        if p.phase == "prompts" and p.done >= 2 * CHUNK:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted.update_concepts(progress=ctrl_c_after_two_chunks)
    assert seen == [("prompts", 0, prompts), ("prompts", CHUNK, prompts), ("prompts", 2 * CHUNK, prompts)]
    interrupted.close()

    resumed = Library(make_settings(random_model, data_dir=tmp_path / "a"))
    seen.clear()
    report = resumed.update_concepts(progress=lambda p: seen.append((p.phase, p.done, p.total)))
    assert report.scored == 12 and not report.cancelled
    phases = [s for s in seen if s[0] == "prompts"]
    assert phases[0] == ("prompts", 2 * CHUNK, prompts) and phases[-1] == ("prompts", prompts, prompts)
    assert [s[0] for s in seen if s[0] != "prompts"] == ["concepts"]

    whole = Library(make_settings(random_model, data_dir=tmp_path / "b"))
    whole.update([tmp_path / "lib"])
    whole.update_concepts()
    got, expected = _tags_by_name(resumed), _tags_by_name(whole)
    assert got.keys() == expected.keys() and len(got) == 12
    for name in got:
        assert [n for n, _ in got[name]] == [n for n, _ in expected[name]]
        assert np.allclose([p for _, p in got[name]], [p for _, p in expected[name]], atol=1e-4)
    resumed.close()
    whole.close()


# The child waits in its second chunk of prompts (after saying so) until the test's SIGINT comes:
# no race with the encoding, whatever the machine's speed.
_CHILD = """
import sys, time
from app.core.model.embedder import Embedder
encode = Embedder.encode_texts
calls = []

def waits_in_the_second_chunk(self, texts, *args, **kwargs):
    calls.append(len(texts))
    if len(calls) == 2:
        print("test: in the second chunk", file=sys.stderr, flush=True)
        time.sleep(600)
    return encode(self, texts, *args, **kwargs)

Embedder.encode_texts = waits_in_the_second_chunk
from app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_in_the_prompts_phase_of_index(random_model, tmp_path):
    write_shapes(tmp_path / "lib", per_kind=1)
    config, checkpoint = random_model
    env = dict(
        os.environ,
        PHOTOSEEK_DATA_DIR=str(tmp_path / "data"),
        PHOTOSEEK_MODEL=str(config),
        PHOTOSEEK_PRETRAINED=str(checkpoint),
        PHOTOSEEK_OCR="0",
        PYTHONPATH=str(REPO),
    )
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, "index", str(tmp_path / "lib")],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        for line in child.stderr:
            lines.append(line)
            if line.startswith("test: in the second chunk"):
                break
        else:
            pytest.fail(f"the child never reached the prompts phase: {''.join(lines)}")
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err
    assert err.strip().splitlines()[-1] == "Interrupted; the next run resumes where this one stopped."
    assert "Traceback" not in err
    done = subprocess.run(
        [sys.executable, "-m", "app", "index", "--json"], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert '"scored": 12' in done.stdout
