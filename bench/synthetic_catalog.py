"""Deterministic synthetic catalogs of any size, for benchmarks.

`make_catalog(n, seed)` builds a `Catalog` in memory; `write_yaml(path, n, seed)` writes the same
catalog as a file that `mlops-bot validate` accepts. Titles, summaries, tags and authors are drawn
from MLOps vocabulary plus invented product and person names, so that (as in a real, growing
catalog) the vocabulary keeps growing with the number of resources instead of saturating at a few
hundred words, which would flatter any index.

Usable both as `python bench/synthetic_catalog.py N OUT.yaml` and as
`from bench.synthetic_catalog import make_catalog` with the repository root on sys.path.
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bot` importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.catalog import Catalog, Category, Link, Resource, Section

# The seed's sections and categories, so that synthetic resources fall into the real categories.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("essential-reading", "Essential Reading"), ("tools-platforms", "Tools & Platforms"),
    ("online-courses", "Online Courses"), ("blogs-articles", "Blogs & Articles"),
    ("video-content", "Video Content"), ("hands-on-practice", "Hands-On Practice"),
    ("case-studies", "Case Studies"), ("community-forums", "Community & Forums"),
    ("staying-current", "Staying Current"), ("certifications", "Certifications"),
)
# id, title, section, kind of its resources, relative frequency
CATEGORIES: tuple[tuple[str, str, str, str, int], ...] = (
    ("books", "Books", "essential-reading", "book", 5),
    ("research-papers", "Research Papers", "essential-reading", "paper", 12),
    ("experiment-tracking", "Experiment Tracking", "tools-platforms", "tool", 8),
    ("feature-stores", "Feature Stores", "tools-platforms", "tool", 5),
    ("model-serving", "Model Serving", "tools-platforms", "tool", 8),
    ("ci-cd-for-ml", "CI/CD for ML", "tools-platforms", "tool", 6),
    ("free-courses", "Free Courses", "online-courses", "course", 5),
    ("paid-courses", "Paid Courses", "online-courses", "course", 3),
    ("company-engineering-blogs", "Company Engineering Blogs", "blogs-articles", "blog", 10),
    ("individual-blogs", "Individual Blogs", "blogs-articles", "blog", 10),
    ("youtube-channels", "YouTube Channels", "video-content", "video", 6),
    ("conference-talks", "Conference Talks", "video-content", "conference", 6),
    ("interactive-tutorials", "Interactive Tutorials", "hands-on-practice", "tutorial", 6),
    ("sample-projects", "Sample Projects", "hands-on-practice", "project", 5),
    ("industry-case-studies", "Industry Case Studies", "case-studies", "case-study", 4),
    ("community-forums", "Community Forums", "community-forums", "community", 2),
    ("newsletters", "Newsletters", "staying-current", "newsletter", 2),
    ("podcasts", "Podcasts", "staying-current", "podcast", 2),
    ("certifications", "Certifications", "certifications", "certification", 1),
)

# topic phrase -> tag slug
TOPICS: tuple[tuple[str, str], ...] = (
    ("feature store", "feature-store"), ("feature engineering", "feature-engineering"),
    ("model serving", "model-serving"), ("model monitoring", "monitoring"), ("drift detection", "drift"),
    ("experiment tracking", "experiment-tracking"), ("model registry", "model-registry"),
    ("data versioning", "data-versioning"), ("data validation", "data-validation"),
    ("data quality", "data-quality"), ("pipeline orchestration", "orchestration"),
    ("continuous training", "continuous-training"), ("continuous delivery", "cd"),
    ("CI/CD", "ci-cd"), ("hyperparameter tuning", "hyperparameter-tuning"),
    ("distributed training", "distributed-training"), ("GPU inference", "gpu"),
    ("batch inference", "batch-inference"), ("online inference", "online-inference"),
    ("A/B testing", "ab-testing"), ("model explainability", "explainability"),
    ("fairness", "fairness"), ("responsible AI", "responsible-ai"), ("LLM ops", "llmops"),
    ("prompt engineering", "prompt-engineering"), ("vector databases", "vector-database"),
    ("retrieval augmented generation", "rag"), ("fine-tuning", "fine-tuning"),
    ("model compression", "model-compression"), ("quantization", "quantization"),
    ("edge deployment", "edge"), ("Kubernetes", "kubernetes"), ("Docker", "docker"),
    ("serverless inference", "serverless"), ("stream processing", "streaming"),
    ("data lakes", "data-lake"), ("lakehouse", "lakehouse"), ("data labeling", "labeling"),
    ("active learning", "active-learning"), ("recommender systems", "recommender-systems"),
    ("time series forecasting", "forecasting"), ("anomaly detection", "anomaly-detection"),
    ("computer vision", "computer-vision"), ("natural language processing", "nlp"),
    ("reinforcement learning", "reinforcement-learning"), ("AutoML", "automl"),
    ("technical debt", "technical-debt"), ("reproducibility", "reproducibility"),
    ("observability", "observability"), ("cost optimization", "cost"),
    ("security", "security"), ("privacy", "privacy"), ("governance", "governance"),
    ("metadata management", "metadata"), ("workflow automation", "automation"),
    ("model testing", "testing"), ("shadow deployment", "shadow-deployment"),
    ("canary releases", "canary"), ("infrastructure as code", "iac"), ("MLOps maturity", "maturity"),
)
TECH: tuple[str, ...] = (
    "Python", "PyTorch", "TensorFlow", "Kubernetes", "Docker", "Spark", "Airflow", "Kafka", "Ray",
    "Terraform", "AWS", "GCP", "Azure", "SageMaker", "Vertex AI", "Databricks", "Snowflake", "ONNX",
    "scikit-learn", "XGBoost", "Hugging Face", "FastAPI", "Flink", "Postgres", "Redis", "GitHub Actions",
)
DOMAINS: tuple[str, ...] = (
    "fraud detection", "search ranking", "ads", "healthcare", "retail", "fintech", "logistics",
    "ride sharing", "music streaming", "e-commerce", "manufacturing", "insurance", "gaming", "robotics",
)
ADJECTIVES: tuple[str, ...] = (
    "Practical", "Scalable", "Production", "Modern", "Reliable", "Hands-on", "Applied", "Efficient",
    "Real-time", "Open-source", "Lightweight", "Enterprise", "Cloud-native", "Minimal",
)
FIRST_NAMES: tuple[str, ...] = (
    "Ada", "Alan", "Maria", "Wei", "Priya", "Omar", "Lena", "Diego", "Aisha", "Kenji", "Sofia", "Ivan",
    "Chloe", "Tariq", "Nora", "Mateo", "Yuki", "Hannah", "Ravi", "Elena", "Jonas", "Amara", "Lucas",
    "Mei", "Sven", "Fatima", "Noah", "Zara", "Pavel", "Ines",
)
_ONSETS = ("b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "kr", "st", "tr", "fl")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "eo")
_CODAS = ("", "", "n", "r", "x", "s", "l")

_TITLE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "tool": ("{brand}", "{brand}: {adj} {topic}", "{brand} {topic_title}", "{brand} for {tech}"),
    "book": ("{adj} {topic_title}", "{topic_title} with {tech}", "Designing {topic_title} Systems",
             "The {topic_title} Handbook"),
    "paper": ("Towards {adj} {topic_title}", "{topic_title} at Scale: {brand}",
              "On {topic_title} for {domain_title}", "{brand}: {topic_title} in Production"),
    "course": ("{topic_title} Specialization", "Introduction to {topic_title}", "{topic_title} with {tech}",
               "{adj} {topic_title} Bootcamp"),
    "blog": ("{company} Engineering: {topic_title}", "How {company} Does {topic_title}",
             "{person}'s Notes on {topic_title}", "{topic_title} Lessons from {domain_title}"),
    "video": ("{brand} Channel", "{topic_title} Explained", "{company} Tech Talks: {topic_title}"),
    "conference": ("{brand}Conf {year}: {topic_title}", "{topic_title} at {company} ({year} talk)"),
    "tutorial": ("{topic_title} with {tech}: a Tutorial", "Build a {topic_title} Pipeline with {brand}",
                 "Getting Started with {brand}"),
    "project": ("{brand}: {topic} Example Project", "{topic_title} Reference Architecture on {tech}"),
    "case-study": ("{company}'s {topic_title} Platform", "{brand}: {company}'s Platform for {domain_title}"),
    "community": ("{brand} Community", "{topic_title} Slack", "r/{brand}"),
    "newsletter": ("{brand} Weekly", "The {topic_title} Newsletter"),
    "podcast": ("The {brand} Podcast", "{topic_title} Podcast"),
    "certification": ("{company} Certified {topic_title} Engineer", "{brand} {topic_title} Certificate"),
}
_SUMMARY_TEMPLATES: tuple[str, ...] = (
    "{adj} {topic} for {domain} teams using {tech}",
    "Covers {topic} and {topic2}, with examples in {tech}",
    "How to run {topic} in production with {tech} and {tech2}",
    "An overview of {topic}, {topic2} and common pitfalls",
    "{adj} guide to {topic} for {domain}",
    "Open-source toolkit for {topic} and {topic2}",
)


def _invent(rng: random.Random, syllables: int) -> str:
    word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))
    return (word + rng.choice(_CODAS)).capitalize()


def _title_case(text: str) -> str:
    return " ".join(w if any(c.isupper() for c in w) else w.capitalize() for w in text.split())


_NON_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(text: str) -> str:
    return _NON_SLUG.sub("-", text.lower())[:60].strip("-") or "x"


def _names(rng: random.Random, count: int, syllables: tuple[int, ...]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        name = _invent(rng, rng.choice(syllables))
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def _records(n: int, seed: int) -> list[dict[str, Any]]:
    """Plain dicts (the YAML shape); both entry points build from these so they agree exactly."""
    rng = random.Random(seed)
    # Pools grow with n, like a real catalog's proper nouns: one product per ~4 resources, etc.
    brands = _names(rng, max(20, n // 4), (2, 3))
    companies = _names(rng, max(10, n // 40), (2,))
    surnames = _names(rng, max(20, n // 8), (2, 3))
    weights = [c[4] for c in CATEGORIES]
    all_tags = [t for _, t in TOPICS]
    titled = {text: _title_case(text) for text in (*(t for t, _ in TOPICS), *DOMAINS)}
    out: list[dict[str, Any]] = []
    for i in range(n):
        cid, _, _, kind, _ = rng.choices(CATEGORIES, weights)[0]
        (topic, tag), (topic2, tag2) = rng.sample(TOPICS, 2)
        brand = rng.choice(brands)
        person = f"{rng.choice(FIRST_NAMES)} {rng.choice(surnames)}"
        fill = {
            "brand": brand, "topic": topic, "topic2": topic2, "topic_title": titled[topic],
            "tech": rng.choice(TECH), "tech2": rng.choice(TECH), "adj": rng.choice(ADJECTIVES),
            "domain": rng.choice(DOMAINS), "domain_title": titled[rng.choice(DOMAINS)],
            "company": rng.choice(companies), "person": person, "year": rng.randint(2014, 2024),
        }
        title = rng.choice(_TITLE_TEMPLATES[kind]).format(**fill)
        summary = rng.choice(_SUMMARY_TEMPLATES).format(**fill)
        summary = summary[0].upper() + summary[1:]
        tags = list(dict.fromkeys([tag, tag2, kind, *rng.sample(all_tags, rng.randint(0, 3))]))
        rid = f"{_slug(title)}-{i}"
        record: dict[str, Any] = {
            "id": rid, "title": title, "kind": kind, "category": cid,
            "url": f"https://{brand.lower()}.example.org/{kind}/{i}",
            "summary": summary, "tags": tags,
        }
        if rng.random() < 0.3:
            record["links"] = [{"label": "GitHub", "url": f"https://github.com/{brand.lower()}/{rid}"}]
        if kind in ("book", "paper", "blog", "course", "conference") or rng.random() < 0.1:
            record["authors"] = [person] + ([f"{rng.choice(FIRST_NAMES)} {rng.choice(surnames)}"]
                                            if rng.random() < 0.4 else [])
        if kind == "tool" and rng.random() < 0.2:
            record["aliases"] = [brand + "ML"]
        if rng.random() < 0.3:
            record["level"] = rng.choice(("beginner", "intermediate", "advanced"))
        if rng.random() < 0.5:
            record["cost"] = "free" if cid == "free-courses" else rng.choice(("free", "freemium", "paid"))
        if kind in ("paper", "book", "conference"):
            record["year"] = fill["year"]
        out.append(record)
    return out


def _sections_and_categories() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    sections = [{"id": sid, "title": title} for sid, title in SECTIONS]
    categories = [{"id": cid, "title": title, "section": section} for cid, title, section, _, _ in CATEGORIES]
    return sections, categories


def make_catalog(n: int, seed: int = 0) -> Catalog:
    """A valid catalog of `n` resources; the same (n, seed) always gives the same catalog."""
    sections, categories = _sections_and_categories()
    resources = tuple(
        Resource(
            id=r["id"], title=r["title"], kind=r["kind"], category=r["category"], summary=r["summary"],
            url=r["url"], links=tuple(Link(**link) for link in r.get("links", ())), tags=tuple(r["tags"]),
            aliases=tuple(r.get("aliases", ())), authors=tuple(r.get("authors", ())), level=r.get("level"),
            cost=r.get("cost"), year=r.get("year"),
        )
        for r in _records(n, seed)
    )
    return Catalog(
        resources=resources,
        categories=tuple(Category(**c) for c in categories),
        sections=tuple(Section(**s) for s in sections),
        source=f"<synthetic n={n} seed={seed}>",
    )


def write_yaml(path: str | Path, n: int, seed: int = 0) -> None:
    """Write the catalog `make_catalog(n, seed)` builds as a YAML file (block style, like the real one)."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    sections, categories = _sections_and_categories()
    document = {"version": 1, "sections": sections, "categories": categories, "resources": _records(n, seed)}
    with Path(path).open("w", encoding="utf-8") as fh:
        fh.write(f"# Synthetic mlops-bot catalog: {n} resources, seed {seed} (bench/synthetic_catalog.py)\n")
        yaml.dump(document, fh, Dumper=dumper, sort_keys=False, allow_unicode=True, width=200)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python bench/synthetic_catalog.py N OUT.yaml [SEED]")
    write_yaml(sys.argv[2], int(sys.argv[1]), int(sys.argv[3]) if len(sys.argv) == 4 else 0)
