"""The indexed search engine: an inverted index over normalised terms, built once per catalog load.

A query costs what its terms cost: each term is looked up in the vocabulary (exactly, else by
prefix and by edit distance with rapidfuzz over the words of similar length), and only the
resources on those terms' posting lists are scored. Nothing here walks the whole catalog per query.

Scoring, per resource:
  * each term's value is the weight of the best field it occurs in (title and aliases above authors,
    above tags/category/kind, above provider and summary), plus a little for every further field;
  * terms are weighted by rarity (idf), and the share of the query's weight a resource covers is
    squared, so covering every word beats a strong match on one of them;
  * adjacent query words found together (uber michelangelo) and a query that *is* a title or an
    alias (mlflow, W&B) add a bonus: the resource itself ranks above pages that mention it;
  * a resource with no link at all is slightly demoted: a member cannot open it.
"""

from __future__ import annotations

import bisect
import copy
import gc
import heapq
import math
from array import array
from collections.abc import KeysView, Sequence
from dataclasses import replace
from itertools import compress, islice, pairwise
from operator import itemgetter

from rapidfuzz import fuzz, process, utils
from rapidfuzz.distance import OSA

from bot.core.catalog import Catalog, Category, Resource
from bot.core.normalize import (
    STOPWORDS,
    QueryText,
    analyze,
    analyze_plain,
    analyze_query,
    analyze_words,
    key,
    kind_hints,
    pairs,
    plain_words,
    stem,
    terms,
    url_word_list,
)
from bot.core.search_api import Completion, Hit, SearchPage, SearchQuery

# Field weights. Kept as named constants: they are the knobs of relevance.
W_TITLE = 10.0
W_ALIAS = 10.0
W_AUTHOR = 8.0
W_TAG = 6.0
W_CATEGORY = 5.0
W_KIND = 5.0
W_PROVIDER = 4.0
W_SUMMARY = 3.0
W_NOTES = 2.0
W_LINK = 2.5  # words of link addresses and labels: a repository's name is how some members know a tool
W_CATEGORY_TEXT = 1.5  # the category's description: what every resource in it is for
EXTRA_FIELD = 0.2  # share of a further field's weight added to the best field's
MAX_VALUE = 15.0  # a term's value is capped here before normalising to 0..1

# Field numbers (bits of a mask) and their weights.
(F_TITLE, F_ALIAS, F_AUTHOR, F_TAG, F_CATEGORY, F_KIND, F_PROVIDER, F_SUMMARY, F_NOTES, F_LINK,
 F_CATEGORY_TEXT) = range(11)
FIELD_WEIGHTS = (W_TITLE, W_ALIAS, W_AUTHOR, W_TAG, W_CATEGORY, W_KIND, W_PROVIDER, W_SUMMARY, W_NOTES, W_LINK,
                 W_CATEGORY_TEXT)


def _mask_value(mask: int) -> float:
    """A term's value in a resource from the set of fields it occurs in: the best field's weight, plus a
    share of each further distinct weight (title and alias count once: they say the same thing)."""
    distinct = sorted({w for i, w in enumerate(FIELD_WEIGHTS) if mask >> i & 1}, reverse=True)
    return min(MAX_VALUE, distinct[0] + EXTRA_FIELD * sum(distinct[1:])) if distinct else 0.0


MASK_VALUE: tuple[float, ...] = tuple(_mask_value(m) for m in range(1 << len(FIELD_WEIGHTS)))

PAIR_BONUS = 0.15  # adjacent query words found together in a field, scaled by that field's weight
EXACT_BONUS = 0.5  # the whole query equals a title or an alias
NO_LINK_FACTOR = 0.85
BROKEN_LINK_FACTOR = 0.6  # a resource whose link looked broken in two checks in a row: still shown, lower
INTENT_BONUS = 0.3  # the query names the resource's (large) category
KIND_BONUS = 0.25  # the query says what kind of thing it wants (listen -> podcasts)
KIND_FALLBACK = 200  # nothing else matched: this many resources of the wanted kinds, in catalog order
RUN_TOGETHER = 8  # an unknown word this long may be several words typed as one (hiddentechnicaldebt)
CURATED_CATEGORY = 50  # a category this small is shown in the catalog's order when named
MAX_SCORE = 1.0 + EXACT_BONUS + 2 * PAIR_BONUS + INTENT_BONUS  # for mapping scores onto 0..100

MIN_SCORE = 0.08  # absolute floor, and
MIN_RELATIVE = 0.25  # a result must score at least this share of the best one
PREFIX_EXPANSIONS = 8
FUZZY_EXPANSIONS = 4
FUZZY_SIM = 0.9  # a corrected word never counts as much as the word itself
COMPLETION_SCAN = 400
# Resources scored per query at most (beyond the strongest postings of each term). bench/search.py
# checks that the top five under this bound equal those of exhaustive scoring.
MAX_CANDIDATES = 1000
TOP_SLICE = 200  # the strongest postings of every matched term are always scored
# Long posting lists made mappings (`_lookup`) are kept for the terms used most recently, up to this many
# postings in all (about 70 bytes each: at most ~70 MB, reached only by catalogs of tens of thousands).
# Making one costs milliseconds (a common word of a 100,000-resource catalog: 2-10 ms), reading it
# microseconds, and members' common words are few: sized by postings, not by terms, because one common
# word can hold as many as a hundred rarer ones.
LOOKUP_BUDGET = 1_000_000


_NO_CATEGORIES: frozenset[str] = frozenset()
_NO_DOCS: set[int] = set()
_term = itemgetter(0)  # of a (term, word) pair
_word_and_term = itemgetter(1, 0)


# One query's words -> (how deep they were looked up, their nearest indexed words): see _near_words.
NearMemo = dict[str, tuple[int, list[tuple[str, int]]]]


def _squeeze(seq: list[str]) -> str:
    """`normalize.key` of already split words."""
    return "".join([w for w in seq if w not in STOPWORDS] or seq)


class IndexedSearch:
    """`SearchEngine` over an inverted index; build cost and memory grow linearly with the catalog."""

    def __init__(self, catalog: Catalog, *, max_candidates: int = MAX_CANDIDATES) -> None:
        self.max_candidates = max_candidates
        # The build allocates millions of long-lived objects; the cyclic collector would rescan them
        # again and again for nothing (they form no cycles), so it is paused while building.
        paused = gc.isenabled()
        gc.disable()
        try:
            self._build(catalog)
        finally:
            if paused:
                gc.enable()

    def _build(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._resources: tuple[Resource, ...] = catalog.resources
        n = len(self._resources)
        self._n = n
        categories = {c.id: c for c in catalog.categories}
        category_text = {cid: " ".join((c.id, c.title, *c.aliases)) for cid, c in categories.items()}
        category_about = {cid: c.description for cid, c in categories.items() if c.description}

        # Compact from the start: about 8 bytes a posting instead of a boxed int and float, and no second
        # copy of every list to make at the end.
        postings: dict[str, tuple[array, array]] = {}
        self._keys: dict[str, list[int]] = {}  # squeezed title/alias -> resources
        # every indexed word -> its term: typos are fixed on words, which is what members mistype
        self._word_term: dict[str, str] = {}
        word_term = self._word_term
        # Resources without any link: a query's scores are intersected with them (a set, whose intersection
        # with a dict's keys walks the smaller of the two).
        self._unlinked = {doc for doc, r in enumerate(self._resources) if not (r.url or r.links)}
        self._by_kind: dict[str, set[int]] = {}
        self._by_level: dict[str, set[int]] = {}
        self._by_cost: dict[str, set[int]] = {}
        self._by_category: dict[str, set[int]] = {}
        titles: list[tuple[str, int]] = []
        title_words: dict[str, list[int]] = {}
        keys = self._keys
        # Tags, categories, kinds and names repeat across resources: analyse each distinct text once,
        # keeping just what the loop below needs (its terms, pairs included).
        cache: dict[str, list[str]] = {}  # by text, for fields analysed with pairs
        cache_plain: dict[str, list[str]] = {}  # by text, for fields analysed without

        def found(term_pairs: list[tuple[str, str]], found_pairs: list[str]) -> list[str]:
            """The terms of a text seen the first time; its words are added to the word -> term map (each
            word's term is its stem, wherever it is seen: updating is setting it if new, in C)."""
            word_term.update(map(_word_and_term, term_pairs))
            return [*map(_term, term_pairs), *found_pairs]

        def terms_of(text: str, with_pairs: bool = True) -> list[str]:
            known = cache if with_pairs else cache_plain
            out = known.get(text)
            if out is None:
                out = found(*analyze(text, with_pairs=with_pairs))
                if len(known) < 100_000:
                    known[text] = out
            return out

        # The fields every resource of a category and kind shares (the category's names and description,
        # the kind): term -> fields, worked out once per pair instead of once per resource.
        shared: dict[tuple[str, str], dict[str, int]] = {}

        def shared_fields(category: str, kind: str) -> dict[str, int]:
            masks: dict[str, int] = {}
            texts = [(category_text.get(category, category), F_CATEGORY, True), (kind, F_KIND, True)]
            if category_about.get(category):
                texts.append((category_about[category], F_CATEGORY_TEXT, False))
            for text, field, with_pairs in texts:
                for term in terms_of(text, with_pairs):
                    masks[term] = masks.get(term, 0) | 1 << field
            return masks

        title_bit, alias_bit, author_bit, tag_bit = 1 << F_TITLE, 1 << F_ALIAS, 1 << F_AUTHOR, 1 << F_TAG
        provider_bit, summary_bit, notes_bit, link_bit = 1 << F_PROVIDER, 1 << F_SUMMARY, 1 << F_NOTES, 1 << F_LINK
        for doc, r in enumerate(self._resources):
            # term -> bit set of the fields it occurs in. Titles, summaries and link addresses are (nearly)
            # unique: caching their analyses would buy nothing.
            title_pairs, title_phrases, seq = analyze_plain(r.title)
            fields = dict.fromkeys(found(title_pairs, title_phrases), title_bit)
            extra: list[tuple[list[str], int]] = [(terms_of(alias), alias_bit) for alias in r.aliases]
            extra += [(terms_of(author), author_bit) for author in r.authors]
            extra += [(terms_of(tag), tag_bit) for tag in r.tags]
            if r.provider:
                extra.append((terms_of(r.provider), provider_bit))
            extra.append((found(analyze(r.summary, with_pairs=False)[0], []), summary_bit))
            extra += [(terms_of(note, False), notes_bit) for note in r.notes]
            if r.url:
                extra.append((found(analyze_words(url_word_list(r.url)), []), link_bit))
            for link in r.links:
                extra.append((terms_of(link.label, False), link_bit))
                extra.append((found(analyze_words(url_word_list(link.url)), []), link_bit))
            for terms_found, bit in extra:
                for term in terms_found:
                    fields[term] = fields.get(term, 0) | bit
            masks = shared.get((r.category, r.kind))
            if masks is None:
                masks = shared[(r.category, r.kind)] = shared_fields(r.category, r.kind)
            for term, mask in masks.items():
                fields[term] = fields.get(term, 0) | mask

            for term, mask in fields.items():
                entry = postings.get(term)
                if entry is None:
                    entry = postings[term] = (array("i"), array("f"))
                entry[0].append(doc)
                entry[1].append(MASK_VALUE[mask])

            for words_of in (seq, *(plain_words(alias) for alias in r.aliases)):
                keys.setdefault(_squeeze(words_of), []).append(doc)
                titles.append((" ".join(words_of), doc))
                for word in set(words_of):
                    title_words.setdefault(word, []).append(doc)

            self._by_kind.setdefault(r.kind, set()).add(doc)
            self._by_category.setdefault(r.category, set()).add(doc)
            if r.level:
                self._by_level.setdefault(r.level, set()).add(doc)
            if r.cost:
                self._by_cost.setdefault(r.cost, set()).add(doc)

        for term, (docs, vals) in postings.items():
            # Long lists strongest first (stable: then catalog order), see _candidates. One whose postings are
            # all worth the same (a host every link shares, say) is in that order already.
            if len(docs) > TOP_SLICE and min(vals) != max(vals):
                order = sorted(range(len(vals)), key=vals.__getitem__, reverse=True)
                postings[term] = (array("i", [docs[i] for i in order]), array("f", [vals[i] for i in order]))
        self._postings = postings
        self._lookups: dict[str, dict[int, float]] = {}
        self._idfs: dict[str, float] = {}  # filled as terms are queried: at most one float per indexed term
        self._vocab: list[str] = sorted(self._postings)
        # Indexed words by (length, first letter) and (length, second letter): where typos are looked for.
        self._by_start: dict[tuple[int, str], list[str]] = {}
        self._by_second: dict[tuple[int, str], list[str]] = {}
        for word in sorted(self._word_term):
            if len(word) >= 3:
                self._by_start.setdefault((len(word), word[0]), []).append(word)
                self._by_second.setdefault((len(word), word[1]), []).append(word)
        # A query that names a category (feature stores, podcasts, serving) asks for that category.
        self._category_terms = {
            c.id: frozenset(terms(" ".join((c.id, c.title, *c.aliases))) + pairs(c.title)) for c in catalog.categories
        }
        self._category_rank = {c.id: rank for rank, c in enumerate(catalog.categories)}
        self._categories_by_term: dict[str, set[str]] = {}
        for cid, names in self._category_terms.items():
            for name in names:
                self._categories_by_term.setdefault(name, set()).add(cid)
        self._category_docs = {cid: sorted(docs) for cid, docs in self._by_category.items()}
        self._titles = sorted(titles)
        self._title_vocab = sorted(title_words)
        self._title_words = {w: array("i", docs) for w, docs in title_words.items()}
        self._category_names = [
            (c, utils.default_process(f"{c.title} {c.id.replace('-', ' ')} {' '.join(c.aliases)}"))
            for c in catalog.categories
        ]

        # One segment: itself. A layered engine (with_added) lists its base and its overlay here, and the
        # query-level methods below read every segment through this tuple alone.
        self._parts: tuple[tuple[int, IndexedSearch], ...] = ((0, self),)

    # -- growing without a rebuild -------------------------------------------------------------------

    def with_added(self, resources: Sequence[Resource]) -> IndexedSearch:
        """A new engine over this one's resources plus `resources`; this one is left as it was.

        Costs what the added resources cost: they get a small index of their own (an overlay), and
        queries read both, with rarity (idf) taken from the combined counts, so that an added resource
        ranks as it would after a full rebuild. An id already present is skipped, never duplicated.
        """
        return LayeredSearch(self, resources)

    def rebuilt(self) -> IndexedSearch:
        """The same resources in one freshly built index (O(catalog)): for folding a big overlay in,
        off the serving path, before swapping the result in."""
        return self

    _demoted: frozenset[str] = frozenset()

    def with_demoted(self, resource_ids: frozenset[str]) -> IndexedSearch:
        """The same engine, sharing every index, with these resources ranked lower (their link looked
        broken): scores are cut before the best are chosen, so a demoted resource yields its place."""
        engine = copy.copy(self)
        engine._demoted = frozenset(resource_ids)
        return engine

    # -- segments --------------------------------------------------------------------------------------

    def _resource(self, doc: int) -> Resource:
        for off, seg in reversed(self._parts):
            if doc >= off:
                return seg._resources[doc - off]
        raise IndexError(doc)

    def _known(self, term: str) -> bool:
        return any(term in seg._postings for _, seg in self._parts)

    def _prefixed(self, term: str) -> list[str]:
        """The first indexed terms (in sorted order) that start with `term`."""
        out: list[str] = []
        start = bisect.bisect_left(self._vocab, term)
        for candidate in self._vocab[start:start + PREFIX_EXPANSIONS]:
            if not candidate.startswith(term):
                break
            out.append(candidate)
        return out

    # -- vocabulary ----------------------------------------------------------------------------------

    def _idf(self, term: str) -> float:
        idf = self._idfs.get(term)
        if idf is None:
            df = sum(len(seg._postings[term][0]) for _, seg in self._parts if term in seg._postings)
            idf = math.log(1.0 + self._n / (df or 1))
            if df:  # only indexed terms: a typed typo must not grow the table
                self._idfs[term] = idf
        return idf

    def _expand(self, term: str, word: str, near_memo: NearMemo | None = None
                ) -> tuple[list[tuple[str, float]], str | None]:
        """Vocabulary terms a query term stands for, with a similarity in 0..1; and the word it was
        corrected to, when a typo was fixed."""
        if self._known(term):
            return [(term, 1.0)], None
        found: dict[str, float] = {}
        if len(term) >= 3:  # an unfinished word: kube -> kubernetes
            if len(self._parts) == 1:
                prefixed = self._prefixed(term)
            else:  # the first in sorted order over all segments, as one index would give them
                prefixed = sorted({c for _, seg in self._parts for c in seg._prefixed(term)})[:PREFIX_EXPANSIONS]
            for candidate in prefixed:
                found[candidate] = 0.85 * len(term) / len(candidate) + 0.1
        near = self._near_words(word, FUZZY_EXPANSIONS, near_memo)
        for candidate_word, dist in near:
            sim = FUZZY_SIM * (1.0 - dist / max(len(word), len(candidate_word)))
            candidate = self._term_of(candidate_word)
            found[candidate] = max(found.get(candidate, 0.0), sim)
        best = sorted(found.items(), key=lambda kv: -kv[1])[: PREFIX_EXPANSIONS + FUZZY_EXPANSIONS]
        fixed = near[0][0] if near and best and best[0][0] == self._term_of(near[0][0]) else None
        return best, fixed

    def _term_of(self, word: str) -> str:
        for _, seg in self._parts:
            term = seg._word_term.get(word)
            if term is not None:
                return term
        raise KeyError(word)

    def _near_words(self, word: str, limit: int, memo: NearMemo | None = None) -> list[tuple[str, int]]:
        """Indexed words within one edit of a short word, two of a long one (a swap is one edit), over
        every segment: each segment's nearest, then the nearest of those (what one index would find).

        `memo`: one query's words already looked up. The search is the costliest step of a query with
        unknown words, and one query asks it about a word up to three times (split, expand, did you
        mean); the nearest `limit` are the first `limit` of any longer answer (ordered by distance, then
        word), so each word is looked up once, FUZZY_EXPANSIONS deep."""
        if memo is not None:
            depth, found = memo.get(word, (0, []))
            if depth < limit:
                depth = max(limit, FUZZY_EXPANSIONS)
                found = self._near_words(word, depth)
                memo[word] = depth, found
            return found[:limit]
        if len(self._parts) == 1:
            return self._near_segment_words(word, limit)
        found: dict[str, int] = {}
        for _, seg in self._parts:
            for w, d in seg._near_segment_words(word, limit):
                found[w] = min(d, found.get(w, d))
        return sorted(found.items(), key=lambda wd: (wd[1], wd[0]))[:limit]

    def _near_segment_words(self, word: str, limit: int) -> list[tuple[str, int]]:
        """Indexed words of this segment within one edit of a short word, two of a long one.

        Only words of a near length that share the first letter, or have the query's first or second
        letter first, are compared: nearly every typo keeps one of those, and it keeps the cost
        independent of the catalog's size in practice.
        """
        if len(word) < 4:
            return []
        most = 1 if len(word) <= 5 else 2
        found: dict[str, int] = {}
        for length in range(len(word) - most, len(word) + most + 1):
            for bucket in (self._by_start.get((length, word[0])), self._by_start.get((length, word[1])),
                           self._by_second.get((length, word[0]))):
                if bucket:
                    for w, d, _ in process.extract(word, bucket, scorer=OSA.distance, score_cutoff=most,
                                                   limit=limit):
                        found[w] = int(d)
        return sorted(found.items(), key=lambda wd: (wd[1], wd[0]))[:limit]

    # -- search --------------------------------------------------------------------------------------

    def _allowed(self, query: SearchQuery) -> set[int] | None:
        """The documents of this segment the filters let through (None: no filter)."""
        if not query.has_filters:
            return None
        allowed: set[int] | None = None
        for wanted, index in ((query.kinds, self._by_kind), (query.levels, self._by_level),
                              (query.costs, self._by_cost), (query.categories, self._by_category)):
            if not wanted:
                continue
            # One value (kind:paper, free) is the index's own set, not a copy of it: nothing here changes it.
            docs: set[int] = (index.get(next(iter(wanted)), _NO_DOCS) if len(wanted) == 1
                              else set().union(*(index.get(w, _NO_DOCS) for w in wanted)))
            allowed = docs if allowed is None else allowed & docs
        return allowed if allowed is not None else set()

    def _lookup(self, term: str) -> dict[int, float]:
        """A long posting list as a mapping, for scoring a few candidates against it; the most recently used
        are kept (least recently used dropped first), LOOKUP_BUDGET postings in all."""
        lookups = self._lookups
        found = lookups.pop(term, None)
        if found is None:
            docs, vals = self._postings[term]
            found = dict(zip(docs, vals, strict=True))
            kept = sum(map(len, lookups.values()))  # a few hundred terms at most: cheaper than keeping count
            while lookups and kept + len(found) > LOOKUP_BUDGET:
                kept -= len(lookups.pop(next(iter(lookups))))
        lookups[term] = found  # (re)inserted last: the order of the dict is the order of use
        return found

    def _candidates(self, plan: list[tuple[float, list[tuple[str, float]]]], allowed: set[int] | None,
                    phrases: tuple[str, ...] = (), bound: int = MAX_CANDIDATES) -> tuple[set[int], list[int]]:
        """The resources worth scoring: first those holding the query's adjacent words as a phrase (the
        best answers to a multi-word query), then all of the rarest terms' postings, and the strongest
        postings of common terms (lists are ordered by value), so that cost is bounded whatever the
        catalog size. Also returns, for each list cut short, the last resource taken from it: what was
        left out scores no higher (see search)."""
        cands: set[int] = set()
        cut: list[int] = []
        ordered = [*phrases, *sorted((exp for _, expansions in plan for exp, _ in expansions),
                                     key=lambda exp: len(self._postings[exp][0]))]
        for exp in ordered:
            docs = self._postings[exp][0]
            room = max(bound - len(cands), TOP_SLICE)
            if allowed is None:
                cands.update(docs[:room])
                if len(docs) > room:
                    cut.append(docs[room - 1])
            else:  # the first `room` allowed postings, found in C (compress), not by a Python loop
                taken = list(islice(compress(enumerate(docs), map(allowed.__contains__, docs)), room))
                cands.update(d for _, d in taken)
                if len(taken) == room and taken[-1][0] + 1 < len(docs):
                    cut.append(taken[-1][1])
        return cands, cut

    def _score(self, query: QueryText, allowed: list[set[int] | None], near_memo: NearMemo | None = None
               ) -> tuple[dict[int, float], list[list[str]], dict[str, str], list[int], list[str]]:
        """Score the resources that share terms with the query (within `allowed`, one set per segment).

        Also returns, per query term that matched something, the vocabulary terms it was matched to; the
        typos fixed; where posting lists were cut short (see _candidates); and the query's words that
        matched nothing at all. Those weigh nothing: a word no resource has cannot tell resources apart,
        and counting it would only sink every partial match below the floor. Documents are numbered
        across segments.
        """
        fixes: dict[str, str] = {}
        weights: list[float] = []
        matched: list[list[str]] = []
        unmatched: list[str] = []
        plan: list[tuple[float, list[tuple[str, float]]]] = []
        seq = [w for w in query.plain if w not in STOPWORDS]
        in_phrase: dict[str, str] = {}  # word -> the indexed compound it forms with a neighbour (kf serving)
        for a, b in pairwise(seq):
            if self._known(compound := stem(a + b)):
                in_phrase.setdefault(a, compound)
                in_phrase.setdefault(b, compound)
        for term, word in query.terms:
            expansions, fixed = self._expand(term, word, near_memo)
            if not expansions:
                if word in in_phrase:  # used, through the compound it forms with its neighbour
                    weights.append(self._idf(term))
                    matched.append([in_phrase[word]])
                else:
                    unmatched.append(word)
                continue
            matched.append([exp for exp, _ in expansions])
            if fixed:
                fixes[word] = fixed
            idf = self._idf(expansions[0][0])
            weights.append(idf)
            plan.append((idf, expansions))
        total = sum(weights) or 1.0
        if len(self._parts) == 1:
            scores, cut = self._score_segment(query, plan, total, allowed[0], fixes, self.max_candidates)
            return scores, matched, fixes, cut, unmatched
        scores = {}
        cut = []
        for (off, seg), seg_allowed in zip(self._parts, allowed, strict=True):
            seg_plan = [(idf, kept) for idf, exps in plan
                        if (kept := [(e, s) for e, s in exps if e in seg._postings])]
            found, seg_cut = seg._score_segment(query, seg_plan, total, seg_allowed, fixes, self.max_candidates)
            scores.update({off + d: v for d, v in found.items()} if off else found)
            cut += [off + d for d in seg_cut]
        return scores, matched, fixes, cut, unmatched

    def _score_segment(self, query: QueryText, plan: list[tuple[float, list[tuple[str, float]]]], total: float,
                       allowed: set[int] | None, fixes: dict[str, str], bound: int
                       ) -> tuple[dict[int, float], list[int]]:
        """This segment's share of `_score`: `plan` holds only terms it indexes, weighed for all segments."""
        plain = {t for t, _ in query.terms}
        phrases = tuple(p for p in query.pairs if p in self._postings and p not in plain)
        cands, cut = self._candidates(plan, allowed, phrases, bound)
        acc: dict[int, float] = dict.fromkeys(cands, 0.0)
        cover: dict[int, float] = dict.fromkeys(cands, 0.0)
        for idf, expansions in plan:
            scale = idf / MAX_VALUE
            if len(expansions) == 1:  # the usual case, the word itself: no best expansion to pick per resource
                exp, sim = expansions[0]
                docs, vals = self._postings[exp]
                if len(docs) <= 2 * len(cands):
                    for d, v in zip(docs, vals, strict=True):
                        if d in acc:
                            acc[d] += v * sim * scale
                            cover[d] += idf
                else:
                    lookup = self._lookup(exp)
                    for d in cands & lookup.keys():  # a C-level intersection, not a Python loop
                        acc[d] += lookup[d] * sim * scale
                        cover[d] += idf
                continue
            best: dict[int, float] = {}  # a resource counts once per query term: its best expansion
            for exp, sim in expansions:
                docs, vals = self._postings[exp]
                if len(docs) <= 2 * len(cands):
                    for d, v in zip(docs, vals, strict=True):
                        if d in acc and v * sim > best.get(d, 0.0):
                            best[d] = v * sim
                else:
                    lookup = self._lookup(exp)
                    shared = cands & lookup.keys()  # a C-level intersection, not a Python loop
                    if not best and sim == 1.0:  # the usual case: the word itself, nothing to compare with
                        best = {d: lookup[d] for d in shared}
                    else:
                        for d in shared:
                            if lookup[d] * sim > best.get(d, 0.0):
                                best[d] = lookup[d] * sim
            for d, value in best.items():
                acc[d] += value * scale
                cover[d] += idf  # a corrected word still covers the resource; its similarity lowered the value
        scores = {d: (a / total) * (cover[d] / total) ** 2 for d, a in acc.items() if a > 0.0}
        for pair in phrases:  # phrase evidence: the two words side by side in one field
            docs, vals = self._postings[pair]
            if len(docs) <= 2 * len(scores):
                found = [(d, v) for d, v in zip(docs, vals, strict=True) if d in scores]
            else:
                lookup = self._lookup(pair)
                found = [(d, lookup[d]) for d in scores if d in lookup]
            for d, v in found:
                scores[d] += PAIR_BONUS * min(1.0, v / W_TITLE)
        exact = self._keys.get(query.key)
        if exact is None and fixes:  # mlfow: the corrected query may be a title
            exact = self._keys.get(key(" ".join(fixes.get(w, w) for w in query.plain)))
        for d in exact or ():
            if d in scores:
                scores[d] += EXACT_BONUS
        return scores, cut

    def _intended_categories(self, matched: list[list[str]]) -> list[str]:
        """Categories whose name covers every word of the query (each word possibly corrected)."""
        if not matched or not all(matched):
            return []
        found: set[str] | None = None
        by_term = self._categories_by_term
        for options in matched:
            if len(options) == 1:  # the word itself: no union to build
                named = by_term.get(options[0], _NO_CATEGORIES)
            else:
                named = set().union(*(by_term.get(t, ()) for t in options))
            found = set(named) if found is None else found & named
            if not found:
                return []
        if not found:
            return []
        return sorted(found, key=self._category_rank.__getitem__)  # in catalog order

    def _members(self, index: str, value: str, docs: KeysView[int]) -> set[int]:
        """Those of `docs` (numbered across segments) whose `index` (_by_category, _by_kind) is `value`."""
        if len(self._parts) == 1:  # walks the smaller of the two, without copying `docs`
            return docs & getattr(self, index).get(value, _NO_DOCS)
        out: set[int] = set()
        ends = [off for off, _ in self._parts[1:]] + [self._n]
        for (off, seg), end in zip(self._parts, ends, strict=True):
            members = getattr(seg, index).get(value, set())
            out.update(d for d in docs if off <= d < end and d - off in members)
        return out

    def _local(self, doc: int, allowed: list[set[int] | None]) -> bool:
        """Whether `doc` (numbered across segments) is in its segment's `allowed` set."""
        for (off, _), docs in zip(reversed(self._parts), reversed(allowed), strict=True):
            if doc >= off:
                return docs is None or doc - off in docs
        return False

    def _known_word(self, word: str) -> bool:
        return any(word in seg._word_term for _, seg in self._parts)

    def _segment(self, word: str) -> list[str] | None:
        """`word` as the fewest indexed words (and stopwords) typed together, if it is made of two or more
        of them: madewithml -> made with ml, hiddentechnicaldebt -> hidden technical debt."""
        n = len(word)
        best: list[tuple[str, ...] | None] = [None] * (n + 1)
        best[0] = ()
        for i in range(n):
            head = best[i]
            if head is None:
                continue
            for j in range(i + 2, min(n, i + 24) + 1):
                piece = word[i:j]
                if piece in STOPWORDS or self._known_word(piece):
                    found = best[j]
                    if found is None or len(head) + 1 < len(found):
                        best[j] = (*head, piece)
        pieces = best[n]
        if pieces is None or sum(p not in STOPWORDS for p in pieces) < 2:
            return None
        return list(pieces)

    def _split_run_together(self, analysis: QueryText, near_memo: NearMemo | None = None) -> QueryText:
        """The query with each unknown long word that is several indexed words typed as one split into
        them (a typo, which has a near indexed word, is left to the fuzzy match)."""
        out: list[str] = []
        changed = False
        for word in analysis.plain:
            if len(word) >= RUN_TOGETHER and word not in STOPWORDS and not self._known(stem(word)):
                pieces = self._segment(word)  # dictionary lookups: cheap, so tried before the typo search
                if pieces and not self._near_words(word, 1, near_memo):
                    out += pieces
                    changed = True
                    continue
            out.append(word)
        return analyze_query(" ".join(out)) if changed else analysis

    def search(self, query: SearchQuery, *, limit: int = 5, offset: int = 0) -> SearchPage:
        limit = max(0, limit)
        offset = max(0, offset)
        allowed = [seg._allowed(query) for _, seg in self._parts]
        text = query.text.strip()
        near_memo: NearMemo = {}
        analysis = self._split_run_together(analyze_query(text), near_memo)
        if not analysis.terms:
            if not query.has_filters:
                return SearchPage(hits=(), total=0, offset=offset, categories=self.nearest_categories(text))
            # filters alone: the catalog's own (curated) order
            ordered = [off + d for (off, _), docs in zip(self._parts, allowed, strict=True) for d in sorted(docs or ())]
            page = tuple(Hit(self._resource(d), 100.0) for d in ordered[offset:offset + limit])
            return SearchPage(hits=page, total=len(ordered), offset=offset,
                              categories=() if ordered else self.nearest_categories(text))
        scores, matched, fixes, cut, unmatched = self._score(analysis, allowed, near_memo)
        hint_words, wanted_kinds = kind_hints(analysis.plain)
        if wanted_kinds:  # listen, watch, read...: what kind of thing is wanted steers the ranking
            if not scores:  # and when nothing else matched, it is the whole request
                fallback = [off + d for kind in sorted(wanted_kinds) for (off, seg), docs in
                            zip(self._parts, allowed, strict=True)
                            for d in sorted(seg._by_kind.get(kind, ()))[:KIND_FALLBACK] if docs is None or d in docs]
                scores = dict.fromkeys(sorted(fallback)[:KIND_FALLBACK], MIN_SCORE)
            for kind in wanted_kinds:
                for d in self._members("_by_kind", kind, scores.keys()):
                    scores[d] += KIND_BONUS
            unmatched = [w for w in unmatched if w not in hint_words]
        for off, seg in self._parts:
            if not off:
                for d in scores.keys() & seg._unlinked:
                    scores[d] *= NO_LINK_FACTOR
                continue
            for d in seg._unlinked:  # an overlay's: a few added resources
                if off + d in scores:
                    scores[off + d] *= NO_LINK_FACTOR
        demoted = self._demoted
        if demoted:
            for d in scores:
                if self._resource(d).id in demoted:
                    scores[d] *= BROKEN_LINK_FACTOR
        # Naming a category asks for that category. A small one is a curated list: its resources come
        # first, in the curators' order (as `/mlops list` shows them). In a big one that order means
        # little, so its resources only get a bonus and are ranked by score with everything else.
        intended: list[int] = []
        for cid in self._intended_categories(matched):
            if sum(len(seg._category_docs.get(cid, ())) for _, seg in self._parts) <= CURATED_CATEGORY:
                intended += [off + d for off, seg in self._parts for d in seg._category_docs.get(cid, ())]
            else:  # every scored member of the category, wherever it stands in the catalog
                for d in self._members("_by_category", cid, scores.keys()):
                    scores[d] += INTENT_BONUS
        intended.sort()
        if query.has_filters:  # looked up per intended resource: the filtered set may be most of the catalog
            intended = [d for d in intended if self._local(d, allowed)]
        first = set(intended)
        best = max(scores.values(), default=0.0)
        # Never empty-handed: when even the best partial match is weak (words spread over many resources),
        # the best ones are still shown, rather than nothing.
        floor = max(MIN_SCORE, MIN_RELATIVE * best) if best >= MIN_SCORE else MIN_RELATIVE * best
        # A list cut short left out postings no stronger than its last one taken. If that one fell below
        # the floor, so would a resource holding only that word: the count stands. Otherwise more may
        # match than were counted, and the member is told so (an estimate: words cut from two lists
        # could add up, but both are then common words, and such a query is a broad one anyway).
        total_is_floor = any(scores.get(d, 0.0) >= floor for d in cut)
        # (-score, doc): the natural tuple order is the ranking (ties in catalog order), so heapq compares
        # in C instead of calling a key function for each of up to max_candidates results.
        kept = [(-s, d) for d, s in scores.items() if s >= floor and d not in first]
        total = len(intended) + len(kept)
        hits: list[Hit] = []
        for rank, d in enumerate(intended[offset:offset + limit], offset):
            hits.append(Hit(self._resource(d), round(100.0 - 10.0 * rank / len(intended), 3)))
        rest = offset + limit - len(intended)
        if rest > 0:
            skip = max(0, offset - len(intended))
            top = heapq.nsmallest(rest, kept)[skip:]
            cap = 89.0 if intended else 100.0
            hits += [Hit(self._resource(d), round(min(cap, -100.0 * s / MAX_SCORE), 3)) for s, d in top]
        did_you_mean = self.did_you_mean(text, fixes, near_memo) if fixes or not total else None
        return SearchPage(hits=tuple(hits), total=total, offset=offset, did_you_mean=did_you_mean,
                          categories=() if total else self.nearest_categories(text),
                          total_is_floor=total_is_floor, unmatched=tuple(dict.fromkeys(unmatched)))

    def did_you_mean(self, text: str, fixes: dict[str, str] | None = None, near_memo: NearMemo | None = None
                     ) -> str | None:
        """The query with each unknown word replaced by the nearest indexed word, if any changed.

        Filler (how, does, there) is left as typed: it is dropped from matching on both sides, so it is
        never a typo of a catalog word ("why does" is not "why docs")."""
        fixes = fixes or {}
        out: list[str] = []
        changed = False
        for word in plain_words(text)[:20]:
            fixed = fixes.get(word)
            if fixed is None and len(word) >= 4 and word not in STOPWORDS and not self._known(stem(word)):
                near = self._near_words(word, 1, near_memo)
                fixed = near[0][0] if near else None
            changed = changed or fixed is not None
            out.append(fixed or word)
        return " ".join(out) if changed else None

    def nearest_categories(self, text: str, limit: int = 3) -> tuple[Category, ...]:
        if not self._category_names:
            return ()
        names = [name for _, name in self._category_names]
        found = process.extract(utils.default_process(text) or "mlops", names, scorer=fuzz.WRatio,
                                processor=None, limit=limit)
        return tuple(self._category_names[i][0] for _, _, i in found)

    # -- completion ----------------------------------------------------------------------------------

    def complete(self, prefix: str, *, limit: int = 25) -> list[Completion]:
        limit = max(0, min(limit, 25))
        seq = plain_words(prefix[:200])
        if not seq:
            return [self._category_completion(c) for c in self.catalog.categories[:limit]]
        typed = " ".join(seq)
        out: list[Completion] = []
        seen: set[int] = set()
        for category, name in self._category_names:
            names = [category.id.replace("-", " "), *name.split()]
            if name.startswith(typed) or any(n.startswith(typed) for n in names):
                out.append(self._category_completion(category))
        starting: list[tuple[int, int]] = []
        more: list[tuple[int, int]] = []
        for off, seg in self._parts:
            seg_starting, seg_more = seg._complete_docs(seq, typed)
            starting += [(length, off + d) for length, d in seg_starting]
            more += [(length, off + d) for length, d in seg_more]
        for doc in [d for _, d in sorted(starting)] + [d for _, d in sorted(more)]:
            if doc not in seen:
                seen.add(doc)
                out.append(self._resource_completion(self._resource(doc)))
            if len(out) >= limit:
                break
        if not out:  # nothing starts like that: a typo, so fall back on the full (fuzzy) search
            page = self.search(SearchQuery(text=prefix[:200]), limit=limit)
            out = [self._resource_completion(h.resource) for h in page.hits]
        return out[:limit]

    def _complete_docs(self, seq: list[str], typed: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(length, doc) of this segment's titles that start with what was typed, and of those that hold
        every typed word (the last one possibly unfinished); each is shown shortest first."""
        start = bisect.bisect_left(self._titles, (typed, -1))
        starting: list[tuple[int, int]] = []
        for title, doc in self._titles[start:start + COMPLETION_SCAN]:
            if not title.startswith(typed):
                break
            starting.append((len(title), doc))
        *done, last = seq
        base: set[int] | None = None
        for word in done:  # set intersections run in C: cheap even for common words
            docs = self._title_words.get(word)
            base = set() if docs is None else (set(docs) if base is None else base.intersection(docs))
        start = bisect.bisect_left(self._title_vocab, last)
        more: list[tuple[int, int]] = []
        for word in self._title_vocab[start:start + COMPLETION_SCAN]:
            if not word.startswith(last) or len(more) >= COMPLETION_SCAN:
                break
            docs = self._title_words[word]
            found = docs[:COMPLETION_SCAN] if base is None else base.intersection(docs)
            more += [(len(self._resources[doc].title), doc) for doc in found]
        return starting, more

    @staticmethod
    def _resource_completion(resource: Resource) -> Completion:
        label = f"{resource.title} ({resource.kind.replace('-', ' ')})"
        return Completion(label=_clip(label), value=_clip(resource.title), kind="resource")

    def _category_completion(self, category: Category) -> Completion:
        count = sum(len(seg._by_category.get(category.id, ())) for _, seg in self._parts)
        return Completion(label=_clip(f"Category: {category.title} ({count})"), value=_clip(category.id),
                          kind="category")


class LayeredSearch(IndexedSearch):
    """A base index plus a small overlay index of resources added since it was built (`with_added`).

    Only the query-level methods of IndexedSearch run on it: they read the base and the overlay through
    `_parts`, numbering the overlay's documents after the base's, so that ties and curated orders fall
    as in one index over the base's resources followed by the added ones. Nothing of the base is
    copied or changed: the old engine keeps serving while the new one is swapped in.
    """

    # Beyond this many added resources, `rebuilt()` is worth running (in the background) and swapping
    # in: an overlay rebuilt on every approval costs O(added).
    FOLD_AT = 2000

    def __init__(self, base: IndexedSearch, resources: Sequence[Resource], *,
                 previous: tuple[Resource, ...] = ()) -> None:
        self.base = base
        seen = {r.id for r in previous}
        fresh: list[Resource] = list(previous)
        for r in resources:
            if base.catalog.get(r.id) is None and r.id not in seen:
                seen.add(r.id)
                fresh.append(r)
        self.added: tuple[Resource, ...] = tuple(fresh)
        self.overlay = IndexedSearch(Catalog(resources=self.added, categories=base.catalog.categories),
                                     max_candidates=base.max_candidates)
        self.max_candidates = base.max_candidates
        self._n = base._n + self.overlay._n
        self._idfs = {}
        self._parts = ((0, base), (base._n, self.overlay))
        # Category names are the base catalog's: the overlay's categories are the same ones.
        self._categories_by_term = base._categories_by_term
        self._category_rank = base._category_rank
        self._category_names = base._category_names
        self._catalog: Catalog | None = None

    @property
    def catalog(self) -> Catalog:  # type: ignore[override]
        """The base catalog with the added resources after it; built on first use (O(catalog))."""
        if self._catalog is None:
            self._catalog = replace(self.base.catalog, resources=self.base.catalog.resources + self.added)
        return self._catalog

    @property
    def needs_rebuild(self) -> bool:
        return len(self.added) >= self.FOLD_AT

    def with_added(self, resources: Sequence[Resource]) -> IndexedSearch:
        return LayeredSearch(self.base, resources, previous=self.added)

    def rebuilt(self) -> IndexedSearch:
        return IndexedSearch(self.catalog, max_candidates=self.max_candidates)


def _clip(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
