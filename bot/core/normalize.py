"""Text normalisation shared by the search index and its queries.

Both sides go through the same functions, so a query matches a resource whenever the two reduce to
the same terms: case, accents, punctuation, `-`/`_`, `&`, camel case (TorchServe), light plural and
-ing endings, and compounds written as one word or two (feature-store, featurestore, "w & b", wandb).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

# Words that say nothing about which resource is meant; dropped unless a query has nothing else.
# The second group is how members ask (how do I, is there any good, which ... do you recommend): a
# question's filler, dropped on both sides so that it never counts for or against a match.
STOPWORDS: frozenset[str] = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "how", "i", "in", "into", "is", "it", "its",
    "me", "my", "of", "on", "or", "the", "to", "via", "vs", "what", "with", "about", "resource", "resources",
    "am", "any", "anything", "best", "can", "could", "did", "do", "does", "find", "give", "good", "great", "has",
    "have", "here", "im", "know", "like", "looking", "more", "most", "need", "please", "recommend",
    "recommendation", "recommendations", "recommended", "should", "show", "some", "something", "suggest",
    "suggestion", "suggestions", "tell", "that", "there", "these", "this", "those", "top", "want", "wanna", "was",
    "we", "were", "where", "which", "who", "whats", "would", "you", "your", "why", "when", "so", "much", "many",
    "also", "just", "really", "very", "lot", "lots", "kind", "sort",
))

# Domain abbreviations: when the long form appears, the short form is added as a term (both sides),
# so "ML design patterns" finds "Machine Learning Design Patterns" and "k8s" finds Kubernetes.
_ABBREVIATIONS: dict[tuple[str, ...], str] = {
    ("machine", "learning"): "ml",
    ("artificial", "intelligence"): "ai",
    ("deep", "learning"): "dl",
    ("large", "language", "models"): "llm",
    ("large", "language", "model"): "llm",
    ("continuous", "integration"): "ci",
    ("continuous", "delivery"): "cd",
    ("continuous", "deployment"): "cd",
    ("site", "reliability", "engineering"): "sre",
    ("google", "cloud"): "gcp",
    ("amazon", "web", "services"): "aws",
    ("kubernetes",): "k8s",
    ("tensorflow",): "tf",
    ("natural", "language", "processing"): "nlp",
    ("computer", "vision"): "cv",
}
_MAX_ABBREVIATION = max(len(k) for k in _ABBREVIATIONS)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits; `-`, `_`, `.`, `/`, `&` split words
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")  # TorchServe -> Torch|Serve; MLflow, KServe stay whole


def _strip_accents(text: str) -> str:
    if text.isascii():  # nearly all catalog text: skip the costly decomposition
        return text
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case without accents, `&` spelled out: the form every comparison uses."""
    return _strip_accents(text).replace("&", " and ").lower()


def words(text: str) -> list[str]:
    """The words of `text`, folded, in order; a camel-case word also yields its parts after it."""
    out: list[str] = []
    for word in _WORD.findall(_strip_accents(text).replace("&", " and ")):
        lower = word.lower()
        out.append(lower)
        if lower != word and word[1:] != lower[1:]:  # has an inner capital: maybe camel case
            parts = _CAMEL.split(word)
            if len(parts) > 1:
                out.extend(p.lower() for p in parts)
    return out


def plain_words(text: str) -> list[str]:
    """Folded words without camel-case parts: for adjacency (pairs) and exact-title keys."""
    return [w.lower() for w in _WORD.findall(fold(text))]


_DOUBLED = frozenset("bdgmnprt")  # logging -> logg -> log, mapping -> map; not ll, ss (install, pass)


def _stem(word: str) -> str:
    """A light, predictable stemmer: plurals, -ing, -ed, -er, -ment, -tion, and a final -e.

    Deliberately crude (no dictionary): it only has to send a word and its everyday variants to the
    same term, on both sides (tracking, tracker -> track; versioning -> version; deployments -> deploy;
    orchestration, orchestrate -> orchestrat), and leave short words (ml, dvc, aws) alone.
    """
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is", "as")):
        word = word[:-1]
    if word.endswith("ing") and len(word) >= 7:
        word = word[:-3]
    elif (word.endswith("ed") and len(word) >= 6) or (word.endswith("er") and len(word) >= 7):
        word = word[:-2]
    elif word.endswith("ment") and len(word) >= 9:
        word = word[:-4]
    elif word.endswith("tion") and len(word) >= 8:
        word = word[:-3]
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] in _DOUBLED:
        word = word[:-1]
    if word.endswith("e") and len(word) >= 5:
        word = word[:-1]
    return word


# Words repeat (a catalog's vocabulary is small beside its text): cached. Adjacent words joined (pairs) nearly
# never do, and would only push words out of the cache: the index build stems those with `_stem`.
stem = lru_cache(maxsize=65536)(_stem)


_ABBREVIATION_STARTS = frozenset(k[0] for k in _ABBREVIATIONS)


def _abbreviations(seq: list[str]) -> list[str]:
    found: list[str] = []
    for i, word in enumerate(seq):
        if word not in _ABBREVIATION_STARTS:
            continue
        for size in range(1, _MAX_ABBREVIATION + 1):
            short = _ABBREVIATIONS.get(tuple(seq[i:i + size]))
            if short:
                found.append(short)
    return found


def terms(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Distinct stemmed terms of `text`, in order: words, camel parts and abbreviations."""
    return [term for term, _ in term_words(text, keep_stopwords=keep_stopwords)]


def term_words(text: str, *, keep_stopwords: bool = False) -> list[tuple[str, str]]:
    """(term, the folded word it came from) for each distinct term of `text`; typos are fixed on words."""
    raw = words(text)
    kept = raw if keep_stopwords else [w for w in raw if w not in STOPWORDS]
    if not kept:
        kept = raw  # a query of stopwords only still means something
    extra = _abbreviations(plain_words(text))
    out: dict[str, str] = {}
    for word in (*kept, *extra):
        out.setdefault(stem(word), word)
    return list(out.items())


def pairs(text: str) -> list[str]:
    """Adjacent words joined and stemmed (feature store -> featurestor): compounds and phrase evidence."""
    seq = [w for w in plain_words(text) if w not in STOPWORDS]
    return list(dict.fromkeys(stem(a + b) for a, b in pairwise(seq)))


def analyze(text: str, *, with_pairs: bool = True) -> tuple[list[tuple[str, str]], list[str]]:
    """`term_words(text)` and `pairs(text)` in one pass over the text, for building the index."""
    term_pairs, found_pairs, _ = analyze_plain(text, with_pairs=with_pairs)
    return term_pairs, found_pairs


def _split(text: str, need_plain: bool) -> tuple[list[str], list[str]]:
    """`words(text)` and, when asked for (else an empty list), `plain_words(text)`, splitting the text once."""
    if text.isascii():  # nearly all catalog text: no accents, and lower() keeps every word's bounds
        if "&" in text:
            text = text.replace("&", " and ")
        if not _CAMEL.search(text):
            lowered = _WORD.findall(text.lower())
            return lowered, lowered
        found = _WORD.findall(text)
        raw: list[str] = []
        plain: list[str] = []
        for word in found:
            lower = word.lower()
            raw.append(lower)
            plain.append(lower)
            if word[1:] != lower[1:]:  # an inner capital: camel-case parts after the word, as words() gives
                parts = _CAMEL.split(word)
                if len(parts) > 1:
                    raw.extend(p.lower() for p in parts)
        return raw, plain
    raw = words(text)
    return raw, plain_words(text) if need_plain or _ABBREVIATION_STARTS.intersection(raw) else []


def analyze_plain(text: str, *, with_pairs: bool = True) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """`analyze(text)`, and the text's `plain_words` (when `with_pairs`; else possibly an empty list)."""
    raw, plain = _split(text, with_pairs)
    found_pairs: list[str] = []
    if with_pairs:
        seq = [w for w in plain if w not in STOPWORDS]
        found_pairs = list(dict.fromkeys([_stem(a + b) for a, b in pairwise(seq)]))
    return _stems(raw, plain), found_pairs, plain


def analyze_words(seq: list[str]) -> list[tuple[str, str]]:
    """`analyze(" ".join(seq), with_pairs=False)[0]` of words already split and folded (lower-case ASCII
    letters and digits, as `url_word_list` gives them), without joining and splitting them again."""
    return _stems(seq, seq)


def _stems(raw: list[str], plain: list[str]) -> list[tuple[str, str]]:
    """(stem, the first word with that stem) of `raw`'s content words (all of them when all are filler),
    then of the abbreviations `plain` spells out."""
    kept = [w for w in raw if w not in STOPWORDS] or raw
    out: dict[str, str] = {}
    for word in kept:
        out.setdefault(stem(word), word)
    if not _ABBREVIATION_STARTS.isdisjoint(plain):
        for word in _abbreviations(plain):
            out.setdefault(stem(word), word)
    return list(out.items())


def key(text: str) -> str:
    """The whole text squeezed to one string (W&B -> wb, Weights & Biases -> weightsbiases)."""
    seq = [w for w in plain_words(text) if w not in STOPWORDS] or plain_words(text)
    return "".join(seq)


@dataclass(frozen=True, slots=True)
class QueryText:
    """All that search needs from a query's text: `term_words`, `pairs`, `key` and `plain_words` of it."""

    terms: list[tuple[str, str]]
    pairs: list[str]
    key: str
    plain: list[str]


def analyze_query(text: str) -> QueryText:
    """The four analyses of a query in one pass: each on its own would split and fold the text again."""
    plain = plain_words(text)
    # words() differs from plain_words() only by camel-case parts and by case folding beyond ASCII.
    raw = plain if text.isascii() and not _CAMEL.search(text) else words(text)
    kept = [w for w in raw if w not in STOPWORDS] or raw
    out: dict[str, str] = {}
    for word in (*kept, *_abbreviations(plain)):
        out.setdefault(stem(word), word)
    seq = [w for w in plain if w not in STOPWORDS]
    found_pairs = list(dict.fromkeys(stem(a + b) for a, b in pairwise(seq)))
    return QueryText(list(out.items()), found_pairs, "".join(seq or plain), plain)


# Words that say what kind of thing a member wants (listen -> podcasts): they steer, as stems.
_KIND_HINTS: dict[str, tuple[str, ...]] = {
    "listen": ("podcast",), "podcast": ("podcast",), "audio": ("podcast",),
    "watch": ("video", "conference"), "video": ("video", "conference"), "talk": ("video", "conference"),
    "youtube": ("video",), "conference": ("conference",),
    "read": ("book", "paper", "blog", "article"), "book": ("book",), "paper": ("paper",),
    "blog": ("blog",), "article": ("article", "blog"),
    "course": ("course",), "learn": ("course",), "class": ("course",), "lesson": ("course",),
    "tutorial": ("tutorial",), "hands": ("tutorial", "project"),
    "email": ("newsletter",), "weekly": ("newsletter",), "newsletter": ("newsletter",),
    "subscribe": ("newsletter",),
    "ask": ("community",), "help": ("community",), "question": ("community",), "discuss": ("community",),
    "chat": ("community",), "forum": ("community",), "community": ("community",), "hang": ("community",),
    "meet": ("community",), "people": ("community",),
    "certificate": ("certification",), "certification": ("certification",), "certified": ("certification",),
    "exam": ("certification",),
    "tool": ("tool",), "library": ("tool",), "framework": ("tool",),
}
KIND_HINTS: dict[str, tuple[str, ...]] = {stem(w): kinds for w, kinds in _KIND_HINTS.items()}


def kind_hints(words: list[str]) -> tuple[list[str], frozenset[str]]:
    """The words of a query that ask for a kind of resource, and those kinds."""
    found = [w for w in words if stem(w) in KIND_HINTS]
    return found, frozenset(k for w in found for k in KIND_HINTS[stem(w)])


_URL_NOISE = frozenset(("http", "https", "www", "com", "org", "net", "io", "html", "htm", "pdf", "php", "index",
                        "en", "us", "latest", "file", "files", "view", "site", "page", "paper"))
_URL_PART = re.compile(r"[a-z0-9]+")


def url_words(url: str) -> str:
    """The words of a link address worth searching: the host's names and the path's segments, each as
    typed (a repository's name, `madewithml`) and split (`mlops-basics` -> mlops basics), without the
    scheme, `www`, top-level domains and opaque ids (hashes, numbers)."""
    return " ".join(url_word_list(url))


def url_word_list(url: str) -> list[str]:
    """`url_words(url)` as a list of its (distinct) words."""
    rest = url.split("://", 1)[-1].lower()
    host, _, path = rest.partition("/")
    names = host.split(".")
    out: list[str] = []
    for segment in names[:-1] if len(names) > 1 else names:
        out += _segment_words(segment)
    if path:
        for segment in _URL_SEPARATORS.split(path):
            out += _segment_words(segment)
    return list(dict.fromkeys(out))


_URL_SEPARATORS = re.compile(r"[/?#=&]+")


@functools.lru_cache(maxsize=1 << 16)
def _segment_words(segment: str) -> tuple[str, ...]:
    # Hosts and path segments repeat across a catalog (github, docs, a project's name in several links).
    # A piece with a digit in it (every piece is [a-z0-9]+, so: not all letters) is an opaque id when long.
    pieces = [p for p in _URL_PART.findall(segment)
              if p not in _URL_NOISE and (p.isalpha() or (len(p) < 5 and not p.isdigit()))]
    return (*pieces, "".join(pieces)) if len(pieces) > 1 else tuple(pieces)
