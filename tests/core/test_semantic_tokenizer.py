"""The semantic model's tokenizer, read and encoded in Python: the same tokens as HuggingFace tokenizers
gives for the packaged tokenizer file, and a file it does not implement refused rather than misread."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bench.search import HELD_OUT_QUESTIONS, QUESTIONS
from bot import llama_bpe, semantic
from bot.catalog_file import PACKAGED_CATALOG
from bot.core.catalog_loader import load_catalog

if TYPE_CHECKING:
    from tokenizers import Tokenizer

pytestmark = pytest.mark.skipif(not semantic.installed(), reason="the semantic extra is not installed")


def tokenizer_file() -> Path:
    files = semantic.wordllama_files()
    assert files is not None
    return files[0]


@pytest.fixture(scope="module")
def ours() -> llama_bpe.LlamaBPE:
    return llama_bpe.LlamaBPE.from_file(tokenizer_file())


@pytest.fixture(scope="module")
def theirs() -> Tokenizer:  # the reference implementation
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file()))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def texts(ours: llama_bpe.LlamaBPE) -> list[str]:
    catalog = load_catalog(PACKAGED_CATALOG)
    categories = {c.id: c for c in catalog.categories}
    found = [semantic.resource_text(r, categories.get(r.category)) for r in catalog.resources]
    found += [q for q, _ in QUESTIONS + HELD_OUT_QUESTIONS]
    rnd = random.Random(14)
    words = " ".join(found).split()
    found += [" ".join(rnd.choice(words) for _ in range(rnd.randint(1, 12))) for _ in range(1500)]
    odd = "abcXYZ  \t\n.,-_'\"<>/s0123 \u2581\u2581éüñß日本語🚀\u0301\u200b"
    found += ["".join(rnd.choice(odd) for _ in range(rnd.randint(0, 30))) for _ in range(2000)]
    tokens = [token.decode() for token in ours.vocab]
    found += ["".join(rnd.choice(tokens) for _ in range(rnd.randint(1, 6))) for _ in range(2000)]
    found += ["", " ", "  two leading", "trailing  ", "\u2581", "\u2581\u2581x", "x\u2581\u2581", "<s>",
              "</s>hello<unk>", "a<s>b", " <s> ", "<s", "tab\there", "line\nbreak", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🤖🤖",
              "a" * 3000, "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(5000))]  # one long word
    return found


def test_the_same_tokens_as_huggingface_tokenizers(ours: llama_bpe.LlamaBPE, theirs: Tokenizer) -> None:
    cases = texts(ours)
    differ = [(t, theirs.encode(t, add_special_tokens=False).ids, ours.encode(t)) for t in cases]
    differ = [d for d in differ if d[1] != d[2]]
    assert not differ, differ[:5]
    assert len(cases) > 5000


def test_remembered_words_are_bounded_and_change_nothing(monkeypatch: pytest.MonkeyPatch, theirs: Tokenizer) -> None:
    monkeypatch.setattr(llama_bpe, "WORD_CACHE", 50)
    fresh = llama_bpe.LlamaBPE.from_file(tokenizer_file())
    rnd = random.Random(3)
    for _ in range(300):
        text = " ".join("".join(rnd.choice("abcdefghij") for _ in range(5)) for _ in range(4))
        assert fresh.encode(text) == theirs.encode(text, add_special_tokens=False).ids
        assert len(fresh._words) <= 50
    fresh._words.clear()
    long = "x" * (llama_bpe.WORD_CACHED_LENGTH + 1)
    assert fresh.encode(long) == theirs.encode(long, add_special_tokens=False).ids
    assert fresh._words == {}  # a long word is not remembered: a few could weigh more than all the rest


def changed(tmp_path: Path, change: Callable[[dict], object]) -> Path:
    config = json.loads(tokenizer_file().read_bytes())
    change(config)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(config, ensure_ascii=False))
    return path


def test_the_file_read_a_token_at_a_time_is_the_file(tmp_path: Path, ours: llama_bpe.LlamaBPE) -> None:
    # Merges as pairs (the newer tokenizers' format) and every string escaped: read the same.
    def as_pairs(config: dict) -> None:
        config["model"]["merges"] = [m.split(" ") for m in config["model"]["merges"]]

    path = tmp_path / "escaped.json"
    config = json.loads(tokenizer_file().read_bytes())
    as_pairs(config)
    path.write_text(json.dumps(config, ensure_ascii=True, indent=2))
    again = llama_bpe.LlamaBPE.from_file(path)
    assert again.vocab == ours.vocab and again.specials == ours.specials == {"<unk>": 0, "<s>": 1, "</s>": 2}


@pytest.mark.parametrize("change", [
    lambda c: c.update(pre_tokenizer={"type": "Whitespace"}),
    lambda c: c["normalizer"]["normalizers"].append({"type": "Lowercase"}),
    lambda c: c["model"].update(byte_fallback=False),
    lambda c: c["model"].update(ignore_merges=True),
    lambda c: c["model"]["merges"].pop(100),  # a pair that joins, not a merge
    lambda c: c["model"]["merges"].insert(0, c["model"]["merges"].pop(5000)),  # ranked otherwise
    lambda c: c["model"]["merges"].append(c["model"]["merges"].pop(0)),  # after the runs of the word mark
    lambda c: c["added_tokens"][1].update(lstrip=True),
], ids=["pre-tokenizer", "normalizer", "no byte fallback", "ignore merges", "merge missing", "merge moved",
        "merge after the runs", "added token option"])
def test_a_tokenizer_it_does_not_implement_is_refused(tmp_path: Path, change: Callable[[dict], object]) -> None:
    with pytest.raises(ValueError):
        llama_bpe.LlamaBPE.from_file(changed(tmp_path, change))


def test_read_in_small_blocks_it_is_the_same(monkeypatch: pytest.MonkeyPatch, ours: llama_bpe.LlamaBPE) -> None:
    monkeypatch.setattr(llama_bpe._Scanner, "BLOCK", 97)  # keys, tokens and merges cut across blocks
    again = llama_bpe.LlamaBPE.from_file(tokenizer_file())
    assert again.vocab == ours.vocab and again.specials == ours.specials


def test_a_cut_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    data = tokenizer_file().read_bytes()
    for cut in (len(data) // 4, len(data) * 3 // 4):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError):
            llama_bpe.LlamaBPE.from_file(path)


def test_a_file_it_refuses_is_read_by_the_tokenizers_library_instead(tmp_path: Path, theirs: Tokenizer,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    # A newer wordllama could ship a file with an option LlamaBPE does not implement: meaning keeps working.
    path = changed(tmp_path, lambda c: c["added_tokens"][1].update(lstrip=True))
    with pytest.raises(ValueError):
        llama_bpe.LlamaBPE.from_file(path)
    with caplog.at_level("WARNING", logger="bot.semantic"):
        tokenizer = semantic.load_tokenizer(path)
    assert isinstance(tokenizer, semantic.LibraryTokenizer)
    assert "tokenizers library" in caplog.text
    for text in ("which podcasts do you recommend", "feature stores", "日本語 🚀"):
        assert tokenizer.encode(text) == theirs.encode(text, add_special_tokens=False).ids


def test_the_packaged_file_is_read_by_llama_bpe() -> None:
    assert isinstance(semantic.load_tokenizer(tokenizer_file()), llama_bpe.LlamaBPE)


def test_what_a_read_found_is_kept_and_loaded_back_the_same(tmp_path: Path, ours: llama_bpe.LlamaBPE,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    first = semantic.load_tokenizer(tokenizer_file(), tmp_path)
    [cache] = tmp_path.glob("llama-bpe-*.marshal")

    def refuse(path: Path) -> llama_bpe.LlamaBPE:
        raise AssertionError("the tokenizer file was read again")

    monkeypatch.setattr(llama_bpe.LlamaBPE, "from_file", classmethod(lambda cls, path: refuse(path)))
    again = semantic.load_tokenizer(tokenizer_file(), tmp_path)
    assert isinstance(again, llama_bpe.LlamaBPE) and isinstance(first, llama_bpe.LlamaBPE)
    assert again.vocab == ours.vocab and again.specials == ours.specials
    text = "how can I keep track of dataset versions 🚀"
    assert again.encode(text) == ours.encode(text)
    assert cache.name.startswith(f"llama-bpe-{semantic.BPE_CACHE_VERSION}-")


def test_a_damaged_cache_is_read_past_and_replaced(tmp_path: Path, ours: llama_bpe.LlamaBPE,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    semantic.load_tokenizer(tokenizer_file(), tmp_path)
    [cache] = tmp_path.glob("llama-bpe-*.marshal")
    for damage in (b"", b"\x00garbage", cache.read_bytes()[:1000]):
        cache.write_bytes(damage)
        with caplog.at_level("WARNING", logger="bot.semantic"):
            tokenizer = semantic.load_tokenizer(tokenizer_file(), tmp_path)
        assert isinstance(tokenizer, llama_bpe.LlamaBPE) and tokenizer.vocab == ours.vocab
        assert "unreadable" in caplog.text
        caplog.clear()
    import marshal

    assert marshal.loads(cache.read_bytes())[0] == ours.vocab  # written again whole


def test_another_tokenizer_file_is_not_answered_from_the_cache(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    semantic.load_tokenizer(tokenizer_file(), cache_dir)
    # The same vocabulary but one special token fewer: a different file, read for itself.
    path = changed(tmp_path, lambda c: c["added_tokens"].pop())
    other = semantic.load_tokenizer(path, cache_dir)
    assert isinstance(other, llama_bpe.LlamaBPE) and "</s>" not in other.specials
    assert len(list(cache_dir.glob("llama-bpe-*.marshal"))) == 2
