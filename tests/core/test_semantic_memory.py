"""The semantic model's memory: the token table read from its file a row a token as texts need them, in
the file's float16, and the vectors it gives the same as those of a float32 table in memory."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bot import semantic

needs_model = pytest.mark.skipif(not semantic.installed(), reason="the semantic extra is not installed")


def write_tensors(path: Path, **tensors: np.ndarray) -> None:
    from safetensors.numpy import save_file  # the format's own writer

    save_file(tensors, str(path))


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("limits", [(4096, 1 << 20), (0, 1 << 20), (4096, 64)],
                         ids=["runs joined", "a read a row", "reads cut short"])
def test_the_rows_asked_for_are_read_as_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dtype: type,
                                               limits: tuple[int, int]) -> None:
    monkeypatch.setattr(semantic, "GAP_BYTES", limits[0])
    monkeypatch.setattr(semantic, "READ_BYTES", limits[1])
    weights = np.arange(40 * 6, dtype=dtype).reshape(40, 6) / 7
    path = tmp_path / "w.safetensors"
    write_tensors(path, other=np.ones((2, 3), dtype=np.float32), table=weights)
    table = semantic.TokenTable(path, "table", 4)
    assert (table.count, table.dim, table.dtype) == (40, 4, np.dtype(dtype))
    for tokens in ([0], [39], [0, 1, 2, 5, 9, 10, 38, 39], list(range(40)), []):
        rows = table.rows(tokens)
        assert rows.dtype == dtype and rows.shape == (len(tokens), 4)
        assert np.array_equal(rows, weights[tokens, :4])
    assert np.array_equal(semantic.TokenTable(path, "table", 6).rows([3, 7]), weights[[3, 7]])
    with pytest.raises(ValueError):
        table.rows([2, 40])


def test_the_rows_are_those_of_the_file_loaded(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    write_tensors(path, table=np.ones((8, 4), dtype=np.float16))
    table = semantic.TokenTable(path, "table", 4)
    other = tmp_path / "new.safetensors"
    write_tensors(other, table=np.zeros((8, 4), dtype=np.float16))
    os.replace(other, path)  # the package upgraded under a running bot
    assert table.rows([0, 7]).tolist() == [[1.0] * 4] * 2


def test_a_file_that_does_not_hold_the_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    write_tensors(path, table=np.ones((8, 4), dtype=np.float16), ints=np.ones((8, 4), dtype=np.int32))
    for name, columns in (("missing", 2), ("ints", 2), ("table", 5), ("table", 0)):
        with pytest.raises(ValueError):
            semantic.TokenTable(path, name, columns)
    path.write_bytes(path.read_bytes()[:-10])  # cut short
    with pytest.raises(ValueError, match="ends early"):
        semantic.TokenTable(path, "table", 4)


@needs_model
def test_the_packaged_table_gives_a_float32_tables_vectors() -> None:
    from safetensors import safe_open

    embedder = semantic.load_embedder()
    assert embedder is not None
    files = semantic.wordllama_files()
    assert files is not None
    with safe_open(str(files[1]), framework="np") as fh:
        stored = fh.get_tensor("embedding.weight")
    assert embedder.table.dtype == np.float16 and embedder.dim == semantic.DIM
    wide = stored[:, :semantic.DIM].astype(np.float32)  # the table as it was held before: float32, in memory
    texts = ["feature store", "how can I keep track of dataset versions", "Kubeflow: ML pipelines on k8s",
             "ü ñ 日本語 🚀", ""]
    expected = np.zeros((len(texts), semantic.DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        if ids := embedder.tokenizer.encode(text):
            expected[i] = wide[ids].mean(axis=0)
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    np.divide(expected, norms, out=expected, where=norms > 0)
    assert np.array_equal(embedder.embed(texts), expected)  # bit for bit
