"""The semantic model's memory: the token table read a block at a time, kept as the file stores it, and
the vectors it gives the same as those of a float32 table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot import semantic

needs_model = pytest.mark.skipif(not semantic.installed(), reason="the semantic extra is not installed")


def write_tensors(path: Path, **tensors: np.ndarray) -> None:
    from safetensors.numpy import save_file  # the format's own writer

    save_file(tensors, str(path))


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_the_first_columns_are_read_in_blocks_as_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          dtype: type) -> None:
    monkeypatch.setattr(semantic, "ROWS", 4)  # 11 rows: blocks of 4, 4 and 3
    weights = np.arange(11 * 6, dtype=dtype).reshape(11, 6) / 7
    path = tmp_path / "w.safetensors"
    write_tensors(path, other=np.ones((2, 3), dtype=np.float32), table=weights)
    table = semantic.read_columns(path, "table", 4)
    assert table.dtype == dtype and table.flags.c_contiguous
    assert np.array_equal(table, weights[:, :4])
    assert np.array_equal(semantic.read_columns(path, "table", 6), weights)


def test_a_file_that_does_not_hold_the_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    write_tensors(path, table=np.ones((8, 4), dtype=np.float16), ints=np.ones((8, 4), dtype=np.int32))
    for name, columns in (("missing", 2), ("ints", 2), ("table", 5), ("table", 0)):
        with pytest.raises(ValueError):
            semantic.read_columns(path, name, columns)
    path.write_bytes(path.read_bytes()[:-10])  # cut short
    with pytest.raises(ValueError, match="ends early"):
        semantic.read_columns(path, "table", 4)


@needs_model
def test_the_packaged_table_is_float16_and_gives_a_float32_tables_vectors() -> None:
    from safetensors import safe_open

    embedder = semantic.load_embedder()
    assert embedder is not None
    assert embedder.table.dtype == np.float16 and embedder.table.shape[1] == semantic.DIM
    files = semantic.wordllama_files()
    assert files is not None
    with safe_open(str(files[1]), framework="np") as fh:
        stored = fh.get_tensor("embedding.weight")
    assert np.array_equal(embedder.table, stored[:, :semantic.DIM])
    wide = semantic.StaticEmbedder(embedder.tokenizer, stored[:, :semantic.DIM].astype(np.float32), "float32")
    texts = ["feature store", "how can I keep track of dataset versions", "Kubeflow: ML pipelines on k8s",
             "ü ñ 日本語 🚀", ""]
    assert np.array_equal(embedder.embed(texts), wide.embed(texts))  # bit for bit

