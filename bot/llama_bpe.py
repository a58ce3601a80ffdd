"""The semantic model's tokenizer: a Llama (SentencePiece) BPE as HuggingFace tokenizers saves it in a
tokenizer.json, read and encoded in Python.

Why not the `tokenizers` library, which bot.semantic falls back to for a file this reader refuses: its Rust
vocabulary and merge tables take 12 MB of a bot's memory and its code 5 MB more, a tenth of the whole bot
(issue 14's footprint target is 120 MB); this reader takes 2.6 MB. It gives the same tokens as the library
(tests/core/test_semantic_tokenizer.py compares them on over 5,000 texts) and refuses any file with options
it does not implement rather than misread it.
"""

from __future__ import annotations

import heapq
import json
import re
from pathlib import Path
from typing import BinaryIO

SPACE = "\u2581"  # SentencePiece's word mark: the normalizer turns spaces into it, and starts the text with it
WORD_CACHE = 20_000  # words whose tokens are remembered (a catalog's and its questions' vocabulary repeats)
WORD_CACHED_LENGTH = 64  # characters, at most, of a word remembered
_LITERAL = rb'"(?:[^"\\]|\\.)*"'
_VOCAB_ITEM = re.compile(rb"\s*(" + _LITERAL + rb")\s*:\s*(\d+)\s*([,}])")
_MERGE_ITEM = re.compile(rb"\s*(?:(" + _LITERAL + rb")|\[\s*(" + _LITERAL + rb")\s*,\s*(" + _LITERAL
                         + rb")\s*\])\s*([,\]])")
_NORMALIZER = {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": SPACE},
                                                   {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]}
_WORD = re.compile(f"{SPACE}*[^{SPACE}]+|{SPACE}+")
_MARK = SPACE.encode()


def _token(literal: bytes) -> bytes:
    """A JSON string's UTF-8 bytes: the vocabulary is kept as bytes, a third less memory than str (most
    tokens start with the word mark, which would make them two bytes a character)."""
    return json.loads(literal).encode() if b"\\" in literal else literal[1:-1]


class _Scanner:
    """A file read forward a block at a time, for regular expressions to match item by item (an item, a
    token of the vocabulary or a merge, is short: LOOKAHEAD bytes are always there to match it in)."""

    BLOCK = 1 << 16
    LOOKAHEAD = 1 << 12

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.data = b""
        self.at = 0
        self.read = 0  # bytes of the file before self.data
        self.ended = False

    @property
    def offset(self) -> int:
        return self.read + self.at

    def _more(self) -> bool:
        block = self.fh.read(self.BLOCK)
        self.read += self.at
        self.data, self.at = self.data[self.at:] + block, 0
        self.ended = not block
        return bool(block)

    def match(self, pattern: re.Pattern[bytes]) -> re.Match[bytes] | None:
        while len(self.data) - self.at < self.LOOKAHEAD and not self.ended:
            self._more()
        found = pattern.match(self.data, self.at)
        if found is not None:
            self.at = found.end()
        return found

    def until(self, pattern: bytes) -> bytes:
        """The bytes up to `pattern`'s first match, which is passed over."""
        compiled = re.compile(pattern)
        while (found := compiled.search(self.data, self.at)) is None:
            if not self._more():
                raise ValueError(f"no {pattern.decode()} in the tokenizer file")
        skipped, self.at = self.data[self.at:found.start()], found.end()
        return skipped

    def rest(self) -> bytes:
        while self._more():
            pass
        rest, self.at = self.data[self.at:], len(self.data)
        return rest


class LlamaBPE:
    """The model's tokenizer: a Llama (SentencePiece) BPE as HuggingFace tokenizers saves it in a
    tokenizer.json, encoded here in Python, with the same tokens as the `tokenizers` library gives it
    (tests/core/test_semantic_tokenizer.py compares them). Why not that library: its Rust vocabulary and
    merge tables take 12 MB of a bot's memory and its code 5 MB more; this one, 2.6 MB.

    The file's merges are not kept: loading checks that they are exactly the pairs of tokens that join
    into a token, ranked by the joined token's id then the left one's, with runs of the word mark last,
    so that a merge's rank is computed from the vocabulary alone. A file where that does not hold, or
    with a normalizer, pre-tokenizer or model options this class does not implement, is refused.
    """

    def __init__(self, vocab: dict[bytes, int], specials: dict[str, int]) -> None:
        self.vocab = vocab
        self.specials = specials
        self._special = re.compile("|".join(re.escape(t) for t in sorted(specials, key=len, reverse=True))) \
            if specials else None
        self._bytes = [vocab[f"<0x{b:02X}>".encode()] for b in range(256)]
        self._size = max(vocab.values()) + 1  # ids times this, plus an id: distinct ranks
        self._words: dict[str, tuple[int, ...]] = {}

    @classmethod
    def from_file(cls, path: Path) -> LlamaBPE:
        """Read the vocabulary and check the merges a token at a time, the file a block at a time: parsing
        the whole JSON would build every merge as a Python string at once (17 MB at the peak for 2 MB)."""
        with open(path, "rb") as fh:
            scan = _Scanner(fh)
            before = scan.until(rb'"vocab"\s*:\s*\{')
            vocab = cls._read_vocab(scan)
            between = scan.until(rb'"merges"\s*:\s*\[')
            cls._check_merges(scan, vocab)
            after = scan.rest()
        # The rest of the file, the vocabulary and merges left out: what it says must be what is implemented.
        return cls._check_config(json.loads(before + b'"vocab": {}' + between + b'"merges": []' + after), vocab)

    @staticmethod
    def _read_vocab(scan: _Scanner) -> dict[bytes, int]:
        vocab: dict[bytes, int] = {}
        while match := scan.match(_VOCAB_ITEM):
            vocab[_token(match.group(1))] = int(match.group(2))
            if match.group(3) == b"}":
                return vocab
        raise ValueError(f"the tokenizer's vocabulary cannot be read at byte {scan.offset}")

    @staticmethod
    def _check_merges(scan: _Scanner, vocab: dict[bytes, int]) -> None:
        size, last, count, runs = max(vocab.values()) + 1, -1, 0, False
        while match := scan.match(_MERGE_ITEM):
            if match.group(1) is not None:
                left, _, right = _token(match.group(1)).partition(b" ")
            else:
                left, right = _token(match.group(2)), _token(match.group(3))
            joined = left + right
            if left not in vocab or right not in vocab or joined not in vocab:
                raise ValueError(f"merge {left!r} {right!r}: not tokens of the vocabulary")
            run = not joined.replace(_MARK, b"")
            if runs and not run:
                raise ValueError(f"merge {left!r} {right!r} after the runs of {SPACE!r}")
            runs = runs or run
            rank = LlamaBPE.rank_of(vocab, size, left, right, joined)
            if rank <= last:
                raise ValueError(f"merge {left!r} {right!r}: not ranked by the joined token's id")
            last, count = rank, count + 1
            if match.group(4) == b"]":
                # (Cut inside a character, a token's two parts are not UTF-8: never tokens.)
                joins = sum(1 for token in vocab for i in range(1, len(token))
                            if token[:i] in vocab and token[i:] in vocab)
                if joins != count:
                    raise ValueError(f"{count} merges, but {joins} pairs of tokens join into a token")
                return
        raise ValueError(f"the tokenizer's merges cannot be read at byte {scan.offset}")

    @classmethod
    def _check_config(cls, config: dict, vocab: dict[bytes, int]) -> LlamaBPE:
        model = config.get("model") or {}
        expected = {"type": "BPE", "dropout": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                    "byte_fallback": True, "ignore_merges": False, "vocab": {}, "merges": []}
        odd = {k: model.get(k) for k, v in expected.items() if model.get(k, v if k == "ignore_merges" else None) != v}
        if odd or config.get("normalizer") != _NORMALIZER or config.get("pre_tokenizer") is not None:
            raise ValueError(f"a tokenizer this reader does not implement: {odd or config.get('normalizer')}")
        specials: dict[str, int] = {}
        for token in config.get("added_tokens") or ():
            if not token.get("special") or token.get("normalized") or token.get("lstrip") or token.get("rstrip") \
                    or token.get("single_word") or vocab.get(token["content"].encode()) != token["id"]:
                raise ValueError(f"an added token this reader does not implement: {token}")
            specials[token["content"]] = token["id"]
        if any(f"<0x{b:02X}>".encode() not in vocab for b in range(256)):
            raise ValueError("the vocabulary lacks byte tokens for its byte fallback")
        return cls(vocab, specials)

    @staticmethod
    def rank_of(vocab: dict[bytes, int], size: int, left: bytes, right: bytes, joined: bytes) -> int:
        """A merge's rank (lower merges first): by the joined token's id, then the left one's; runs of the
        word mark after every other merge."""
        return ((size * size) if not joined.replace(_MARK, b"") else 0) + vocab[joined] * size + vocab[left]

    def encode(self, text: str) -> list[int]:
        """The token ids of `text`, without a sentence-start token."""
        ids: list[int] = []
        pieces, at = [], 0  # text, special token, text, ...: the special tokens are matched before normalizing
        for match in self._special.finditer(text) if self._special is not None else ():
            pieces += [text[at:match.start()], match.group()]
            at = match.end()
        pieces.append(text[at:])
        for number, piece in enumerate(pieces):
            if number % 2:  # a special token, matched in the text as it is
                ids.append(self.specials[piece])
            elif piece:
                for word in _WORD.findall(SPACE + piece.replace(" ", SPACE)):
                    tokens = self._words.get(word)
                    if tokens is None:
                        tokens = self._merge(word)
                        if len(word) <= WORD_CACHED_LENGTH:  # a long one is rare, and would weigh
                            if len(self._words) >= WORD_CACHE:
                                self._words.clear()
                            self._words[word] = tokens
                    ids.extend(tokens)
        return ids

    def _merge(self, word: str) -> tuple[int, ...]:
        """BPE over one word: its characters (a character not in the vocabulary as its UTF-8 bytes' tokens,
        which join nothing), then the best-ranked adjacent pair that joins into a token, leftmost first, until
        none does. Words are independent: no token has the word mark after another character. The pairs wait
        in a heap, as in tokenizers: a word of thousands of characters costs milliseconds, not seconds."""
        vocab, size = self.vocab, self._size
        symbols: list[bytes | None] = []  # None: a byte token
        ids: list[int] = []
        for char in word:
            symbol = char.encode()
            token = vocab.get(symbol)
            if token is None:
                for byte in symbol:
                    symbols.append(None)
                    ids.append(self._bytes[byte])
            else:
                symbols.append(symbol)
                ids.append(token)
        end = len(symbols)
        after = list(range(1, end + 1))  # the next symbol still standing (`end` after the last)
        before = list(range(-1, end - 1))
        heap: list[tuple[int, int]] = []

        def queue(i: int) -> None:  # the pair that starts at symbol i, if it joins into a token
            if i < 0 or after[i] >= end:
                return
            left, right = symbols[i], symbols[after[i]]
            if left is not None and right is not None and (joined := left + right) in vocab:
                heapq.heappush(heap, (self.rank_of(vocab, size, left, right, joined), i))

        for i in range(end - 1):
            queue(i)
        while heap:
            rank, i = heapq.heappop(heap)
            if after[i] < 0 or after[i] >= end:  # joined into its left neighbour, or now the last
                continue
            left, right = symbols[i], symbols[after[i]]
            # Queued before one of its symbols joined another: the pair standing there now is another one.
            if left is None or right is None or (joined := left + right) not in vocab \
                    or self.rank_of(vocab, size, left, right, joined) != rank:
                continue
            gone = after[i]
            symbols[i], ids[i] = joined, vocab[joined]
            after[i] = after[gone]
            if after[i] < end:
                before[after[i]] = i
            after[gone] = -1
            queue(before[i])
            queue(i)
        out: list[int] = []
        i = 0
        while i < end:
            out.append(ids[i])
            i = after[i]
        return tuple(out)
