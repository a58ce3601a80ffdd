"""The semantic layer's model: a static embedding model shipped inside a PyPI package, loaded offline.

`load_semantic(catalog, cache_dir=...)` returns a `SemanticRanker` for `bot.core.search_fusion`, or
None (logged once) when the optional extra is not installed: `pip install 'mlops-bot[semantic]'`.

The model is WordLlama's l2_supercat (the `wordllama` package bundles its token embeddings and its
tokenizer). Only its files are read, by numpy and this module, so nothing is ever fetched from a model
hub, and the wordllama package itself (which would try to) is never imported. A static model embeds a
text as the mean of its tokens' vectors: a lookup, about 0.05 ms a query, no neural network to run. Its
vectors are trained Matryoshka-style, so the first DIM of 256 dimensions are a smaller model of their
own; see bench/search.py for the comparison with other candidates.

Resource vectors are computed when the catalog loads, cached as a .npy file named by the model and
the hash of the texts embedded (a changed catalog gets new vectors, an unchanged one loads them).

Memory (one bot process holds it for its lifetime): beside numpy's 11 MB, the tokenizer (bot.llama_bpe,
2.6 MB, where HuggingFace tokenizers took 17 MB with its library and 4 MB more while parsing its file; the
library is still used for a tokenizer file llama_bpe refuses) and the catalog's vectors. The token table
stays in its file (`TokenTable`): the rows of a batch's or a query's tokens are read when it is embedded,
widened to float32 and averaged, which gives the very vectors a float32 table in memory did (float16 ->
float32 is exact). What a load frees is handed back to the system (glibc's malloc_trim), so that it does
not stay in the loading thread's malloc arena.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import json
import logging
import marshal
import os
import tempfile
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from bot.core.catalog import Catalog, Category, Resource
from bot.core.normalize import STOPWORDS, plain_words
from bot.llama_bpe import LlamaBPE

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

MODEL = "wordllama-l2-supercat"
DIM = 64  # of 256: the same fused relevance on both question sets, a quarter of the cost at 100,000
DEFAULT_CACHE = Path("var")
BATCH = 1024  # texts embedded at a time
GAP_BYTES = 4096  # rows of the weights file closer than this are read in one call (a page: a read costs that)
READ_BYTES = 1 << 20  # and one call reads at most this
BPE_CACHE_VERSION = 1  # raised whenever LlamaBPE reads a file differently: older caches are then not used
_warned = False


class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...


class LibraryTokenizer:
    """HuggingFace tokenizers, for a tokenizer file LlamaBPE refuses (a wordllama release that changed its
    format, say): meaning still works, at 15 MB more memory, instead of the bot falling back to words."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer as HFTokenizer

        self._tokenizer = HFTokenizer.from_file(str(path))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()  # padding would be averaged in: every token of an encoding is the text's

    def encode(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text, add_special_tokens=False).ids)


def load_tokenizer(path: Path, cache_dir: Path | None = None) -> Tokenizer:
    """LlamaBPE when it implements the file, else the tokenizers library (when installed).

    Reading and checking the file in Python takes about 0.25 s, half of a one-shot `mlops-bot ask`'s
    budget for a question: what a successful read found (the vocabulary and special tokens) is kept in
    `cache_dir`, named by the file's contents and this reader's version, and loaded from there in a few
    milliseconds, as the catalog's vectors are."""
    data = path.read_bytes()
    name = f"llama-bpe-{BPE_CACHE_VERSION}-{hashlib.sha256(data).hexdigest()[:24]}.marshal"
    del data
    cached = cache_dir / name if cache_dir is not None else None
    if cached is not None and cached.is_file():
        try:
            vocab, specials = marshal.loads(cached.read_bytes())
            if not (isinstance(vocab, dict) and isinstance(specials, dict)
                    and all(type(k) is bytes and type(v) is int for k, v in vocab.items())
                    and all(type(k) is str and type(v) is int for k, v in specials.items())):
                raise ValueError("not a vocabulary")
            return LlamaBPE(vocab, specials)
        except (OSError, ValueError, EOFError, TypeError, KeyError) as exc:
            log.warning("tokenizer cache %s is unreadable (%s); reading the tokenizer file again", cached, exc)
    try:
        bpe = LlamaBPE.from_file(path)
    except ValueError as exc:
        if importlib.util.find_spec("tokenizers") is None:
            raise
        log.warning("the semantic model's tokenizer file is read with the tokenizers library (%s)", exc)
        return LibraryTokenizer(path)
    if cached is not None:
        write_cache(cached, lambda fh: marshal.dump((bpe.vocab, bpe.specials), fh))
    return bpe


def write_cache(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """A cache file written whole or not at all: a concurrent reader (another replica, a one-shot command)
    never sees half a file. A cache that cannot be written costs only time: logged, not raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        log.warning("cannot write the semantic cache %s: %s", path, exc)


class StaticEmbedder:
    """Texts -> unit vectors: the mean of their tokens' vectors (a static embedding model)."""

    def __init__(self, tokenizer: Tokenizer, table: TokenTable, name: str) -> None:
        self.tokenizer = tokenizer
        self.table = table
        self.name = name

    @property
    def dim(self) -> int:
        return self.table.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            # No sentence-start token (the tokenizer adds none): one in every text would pull all vectors together.
            encoded = [self.tokenizer.encode(text) for text in texts[start:start + BATCH]]
            used = sorted({token for ids in encoded for token in ids})
            # Widened before averaging: the float32 sums a float32 table gave (float16 -> float32 is exact).
            rows = self.table.rows(used).astype(np.float32)
            where = {token: n for n, token in enumerate(used)}
            for i, ids in enumerate(encoded, start):
                if ids:
                    out[i] = rows[[where[token] for token in ids]].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def wordllama_files() -> tuple[Path, Path] | None:
    """The bundled tokenizer and weights of the wordllama package, if it is installed (not imported)."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    tokenizer = root / "tokenizers" / "l2_supercat_tokenizer_config.json"
    weights = root / "weights" / "l2_supercat_256.safetensors"
    return (tokenizer, weights) if tokenizer.is_file() and weights.is_file() else None


# safetensors' dtype names, as numpy reads them (the format is little-endian).
_DTYPES = {"F16": "<f2", "F32": "<f4"}


class TokenTable:
    """The first `dim` columns of a token table in a safetensors file, read from the file a row a token as
    texts need them: the table itself is never in the process's memory (4 MB as float16 at 64 dims).

    The format is an 8-byte little-endian header length, a JSON header (each tensor's dtype, shape and
    byte offsets after the header), then the raw tensors. The file stays open: the rows read are those of
    the file loaded, even if the package is upgraded under a running bot. Not a mapping of the file: the
    kernel maps the pages around each one touched, and they would count as the process's own.
    """

    def __init__(self, path: Path, name: str, dim: int) -> None:
        import numpy as np

        with open(path, "rb") as fh:
            (size,) = np.frombuffer(fh.read(8), dtype="<u8")
            info = json.loads(fh.read(int(size))).get(name)
        if not isinstance(info, dict) or info.get("dtype") not in _DTYPES or len(info.get("shape", ())) != 2:
            raise ValueError(f"{path}: no 2-D float16/float32 tensor {name!r} in {info!r}")
        self.count, width = (int(n) for n in info["shape"])
        begin, stop = (int(n) for n in info["data_offsets"])
        self.dtype = np.dtype(_DTYPES[info["dtype"]])
        self.dim = dim
        self._stride = width * self.dtype.itemsize
        self._start = 8 + int(size) + begin
        if stop - begin != self.count * self._stride or not 0 < dim <= width:
            raise ValueError(f"{path}: {name} is {self.count}x{width} {info['dtype']} in {stop - begin} bytes; "
                             f"{dim} columns asked for")
        self._fd = os.open(path, os.O_RDONLY)
        if os.fstat(self._fd).st_size < self._start + self.count * self._stride:
            os.close(self._fd)
            raise ValueError(f"{path}: {name} ends early")
        weakref.finalize(self, os.close, self._fd)

    def rows(self, tokens: Sequence[int]) -> np.ndarray:
        """The rows of `tokens` (sorted, distinct), in the file's dtype. Tokens close together are read in
        one go (a catalog's batch uses most of the table), each run at most READ_BYTES."""
        import numpy as np

        out = np.empty((len(tokens), self.dim), dtype=self.dtype)
        n = 0
        while n < len(tokens):
            first = last = n
            while last + 1 < len(tokens) and (tokens[last + 1] - tokens[last]) * self._stride <= GAP_BYTES \
                    and (tokens[last + 1] - tokens[first] + 1) * self._stride <= READ_BYTES:
                last += 1
            low, high = tokens[first], tokens[last]
            if low < 0 or high >= self.count:
                raise ValueError(f"token {low if low < 0 else high} is not in the table of {self.count}")
            data = os.pread(self._fd, (high - low + 1) * self._stride, self._start + low * self._stride)
            span = np.frombuffer(data, dtype=self.dtype).reshape(high - low + 1, -1)
            out[first:last + 1] = span[np.asarray(tokens[first:last + 1]) - low, :self.dim]
            n = last + 1
        return out


def release_free_memory() -> None:
    """Hand freed heap memory back to the system (glibc; elsewhere nothing to do). The tokenizer file's
    bytes and its parse's temporaries are freed in the loading thread's malloc arena, which the bot's
    other threads do not allocate from: kept, they would add to every later peak."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):  # no malloc_trim (musl, macOS), no libc handle (Windows)
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)


def load_embedder(dim: int = DIM, cache_dir: Path | None = None) -> StaticEmbedder | None:
    """The packaged model, or None when the semantic extra is not installed."""
    files = wordllama_files()
    try:
        import numpy  # noqa: F401  (the table and the embedder need it)
    except ImportError:
        return None
    if files is None:
        return None
    tokenizer_path, weights_path = files
    single_threaded_blas()
    tokenizer = load_tokenizer(tokenizer_path, cache_dir)
    release_free_memory()  # the file's parse must not add to what comes next
    table = TokenTable(weights_path, "embedding.weight", dim)
    if isinstance(tokenizer, LlamaBPE) and max(tokenizer.vocab.values()) >= table.count:
        raise ValueError(f"{weights_path}: {table.count} token rows for a vocabulary of {len(tokenizer.vocab)}")
    return StaticEmbedder(tokenizer, table, f"{MODEL}-{dim}")


def resource_text(resource: Resource, category: Category | None) -> str:
    """What a resource is about, as one text to embed: its names, what it is, and its category's purpose."""
    about = f"{category.title}: {category.description}" if category else resource.category
    parts = [resource.title, *resource.aliases, resource.summary, resource.kind, about,
             " ".join(t.replace("-", " ") for t in resource.tags), *resource.notes]
    return ". ".join(p for p in parts if p)


def single_threaded_blas() -> None:
    """One BLAS thread for the whole process. A query's product is memory-bound and takes about a
    millisecond alone; OpenBLAS's worker threads save little of it and then spin, holding the second CPU
    that the bot's other work (the lexical search beside it, the event loop) needs."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an install from before it joined the extra: products still work, on more threads
        return
    threadpool_limits(limits=1, user_api="blas")  # called, not entered: the limit stays for the process


class SemanticIndex:
    """`SemanticRanker` over resource vectors: a base matrix, and one for resources added since."""

    def __init__(self, embedder: StaticEmbedder, catalog: Catalog, vectors: np.ndarray,
                 added: tuple[Resource, ...] = (), added_vectors: np.ndarray | None = None) -> None:
        self.embedder = embedder
        self.catalog = catalog
        self.resources = catalog.resources
        self.vectors = vectors
        self.categories = {c.id: c for c in catalog.categories}
        self.added = added
        self.added_vectors = added_vectors

    def rank(self, text: str, limit: int, accepts: Callable[[Resource], bool] | None = None
             ) -> list[tuple[Resource, float]]:
        import numpy as np

        # A static model averages every token: a question's filler (how do I, is there any) would pull
        # every query toward the same point, so only its content words are embedded.
        content = " ".join(w for w in plain_words(text) if w not in STOPWORDS)
        query = self.embedder.embed([content or text])[0]
        found: list[tuple[Resource, float]] = []
        for resources, vectors in ((self.resources, self.vectors), (self.added, self.added_vectors)):
            if vectors is None or not len(resources):
                continue
            # BLAS in this one thread (`single_threaded_blas`): 1 ms at 100,000 where einsum took 1.3 alone
            # and 2.7 beside the lexical search; OpenBLAS's own workers would spin after each product and
            # take the second CPU from the search thread.
            sims = vectors @ query
            # With a filter, look deeper: most of the nearest may be filtered out.
            depth = min(len(sims), limit if accepts is None else max(limit * 20, 1000))
            # The `depth` largest, partitioned in place of a negated copy (a third of a millisecond at 100,000);
            # which of several equal similarities at the cut is kept is arbitrary either way.
            cut = len(sims) - depth
            top = np.argpartition(sims, cut)[cut:] if cut > 0 else np.arange(len(sims))
            top = top[np.argsort(-sims[top], kind="stable")]
            taken = 0
            for i, similarity in zip(top.tolist(), sims[top].tolist(), strict=True):
                resource = resources[i]
                if accepts is None or accepts(resource):
                    found.append((resource, similarity))
                    taken += 1
                    if taken == limit:  # best first: this matrix's further rows cannot make the cut
                        break
        found.sort(key=lambda rs: -rs[1])
        return found[:limit]

    def with_added(self, resources: Sequence[Resource]) -> SemanticIndex:
        """Also ranks `resources`: only they are embedded (the base's vectors are shared, not copied)."""
        import numpy as np

        seen = {r.id for r in self.added}
        fresh: list[Resource] = []
        for r in resources:  # as the lexical engine does: an id already searchable is skipped
            if self.catalog.get(r.id) is None and r.id not in seen:
                seen.add(r.id)
                fresh.append(r)
        if not fresh:
            return self
        vectors = self.embedder.embed([resource_text(r, self.categories.get(r.category)) for r in fresh])
        added_vectors = vectors if self.added_vectors is None else np.vstack([self.added_vectors, vectors])
        return SemanticIndex(self.embedder, self.catalog, self.vectors, self.added + tuple(fresh), added_vectors)


def catalog_vectors(catalog: Catalog, embedder: StaticEmbedder, cache_dir: Path | None) -> np.ndarray:
    """The catalog's resource vectors: from the cache when this model already embedded these texts."""
    import numpy as np

    categories = {c.id: c for c in catalog.categories}
    resources = catalog.resources

    def texts(start: int = 0, stop: int | None = None) -> list[str]:  # made again when needed: at 100,000
        return [resource_text(r, categories.get(r.category)) for r in resources[start:stop]]  # they weigh

    hasher = hashlib.sha256(embedder.name.encode())
    for start in range(0, len(resources), BATCH):
        for text in texts(start, start + BATCH):
            hasher.update(b"\x1e" + text.encode())
    path = cache_dir / f"semantic-{embedder.name}-{hasher.hexdigest()[:24]}.npy" if cache_dir is not None else None
    if path is not None and path.is_file():
        try:
            vectors = np.load(path, mmap_mode=None, allow_pickle=False)
            if vectors.shape == (len(resources), embedder.dim):
                return vectors
        except (OSError, ValueError):
            log.warning("semantic cache %s is unreadable; recomputing it", path)
    vectors = np.zeros((len(resources), embedder.dim), dtype=np.float32)
    for start in range(0, len(resources), BATCH):
        chunk = texts(start, start + BATCH)
        vectors[start:start + len(chunk)] = embedder.embed(chunk)
    if path is not None:
        write_cache(path, lambda fh: np.save(fh, vectors, allow_pickle=False))
    return vectors


def installed() -> bool:
    """Whether the semantic extra is installed, found without importing anything (start-up stays low)."""
    return importlib.util.find_spec("numpy") is not None and wordllama_files() is not None


def build_index(catalog: Catalog, cache_dir: Path | None = DEFAULT_CACHE, *, dim: int = DIM) -> SemanticIndex | None:
    """The semantic ranker over `catalog`, loaded now; None without the extra."""
    embedder = load_embedder(dim, cache_dir)
    if embedder is None:
        return None
    return SemanticIndex(embedder, catalog, catalog_vectors(catalog, embedder, cache_dir))


class _Loader:
    """Loads the model and the catalog's vectors once, for every engine grown from it."""

    def __init__(self, catalog: Catalog, cache_dir: Path | None, dim: int) -> None:
        self.catalog, self.cache_dir, self.dim = catalog, cache_dir, dim
        self.lock = threading.Lock()
        self.index: SemanticIndex | None = None
        self.done = False

    def get(self) -> SemanticIndex | None:
        with self.lock:
            if not self.done:
                try:
                    self.index = build_index(self.catalog, self.cache_dir, dim=self.dim)
                except Exception:  # a broken model file must not take search down: words still work
                    log.exception("semantic model failed to load; searching by words only")
                self.done = True
            return self.index


class LazySemantic:
    """`SemanticRanker` that loads the model on first use, or on `preload()` (from a background thread
    once the catalog is loaded, say): a one-shot command that never asks a question never pays for it."""

    def __init__(self, loader: _Loader, added: tuple[Resource, ...] = (), index: SemanticIndex | None = None
                 ) -> None:
        self._loader = loader
        self._added = added
        self._index = index

    def preload(self) -> SemanticIndex | None:
        if self._index is None:
            base = self._loader.get()
            self._index = base.with_added(self._added) if base is not None and self._added else base
        return self._index

    def rank(self, text: str, limit: int, accepts: Callable[[Resource], bool] | None = None
             ) -> list[tuple[Resource, float]]:
        index = self.preload()
        return index.rank(text, limit, accepts) if index is not None else []

    def with_added(self, resources: Sequence[Resource]) -> LazySemantic:
        added = self._added + tuple(resources)
        # Loaded: embed just the new ones now, so that the approval is searchable by meaning at once.
        index = self._index.with_added(resources) if self._index is not None else None
        return LazySemantic(self._loader, added, index)


def load_semantic(catalog: Catalog, cache_dir: Path | None = DEFAULT_CACHE, *, dim: int = DIM
                  ) -> LazySemantic | None:
    """A semantic ranker over `catalog` (loaded on first use), or None when the semantic extra is not
    installed: the bot then searches by words, and says so once in the log."""
    global _warned
    if not installed():
        if not _warned:
            _warned = True
            log.info("semantic search is off (install 'mlops-bot[semantic]' for it): searching by words only")
        return None
    return LazySemantic(_Loader(catalog, cache_dir, dim))
