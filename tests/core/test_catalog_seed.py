"""Pins data/resources.yaml to the curated seed list it was written from.

The seed ("Module 06: MLOps & Experiment Tracking - Learning Resources", last updated 2024-01-15)
is not read here: its facts (URLs, counts, titles) are copied in as literals, so a change to the
catalog that drops or rewrites seed content fails a test.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

CATALOG_PATH = Path(__file__).resolve().parents[2] / "data" / "resources.yaml"

# Every distinct URL of the seed (72), exactly as written there.
SEED_URLS: tuple[str, ...] = (
    "https://about.gitlab.com/blog/2021/05/17/ci-cd-with-ml/",
    "https://arxiv.org/abs/1810.03993",
    "https://cloud.google.com/architecture/mlops-continuous-delivery-and-automation-pipelines-in-machine-learning",
    "https://dl.acm.org/doi/10.1145/3411764.3445518",
    "https://docs.feast.dev/",
    "https://docs.feast.dev/getting-started/quickstart",
    "https://docs.feast.dev/tutorials/tutorials-overview",
    "https://docs.github.com/en/actions",
    "https://docs.gitlab.com/ee/ci/",
    "https://docs.hopsworks.ai/",
    "https://docs.hopsworks.ai/latest/tutorials/",
    "https://docs.neptune.ai/",
    "https://docs.neptune.ai/examples/",
    "https://docs.nvidia.com/deeplearning/triton-inference-server/",
    "https://docs.tecton.ai/",
    "https://docs.wandb.ai/",
    "https://dvc.org/doc",
    "https://dvc.org/doc/start",
    "https://dvc.org/doc/use-cases",
    "https://engineering.atspotify.com/",
    "https://engineering.linkedin.com/",
    "https://engineering.linkedin.com/blog/2019/01/scaling-machine-learning-productivity-at-linkedin",
    "https://eugeneyan.com/",
    "https://fullstackdeeplearning.com/",
    "https://github.com/feast-dev/feast",
    "https://github.com/feast-dev/feast-workshop",
    "https://github.com/full-stack-deep-learning/fsdl-text-recognizer-2022",
    "https://github.com/graviraja/MLOps-Basics",
    "https://github.com/iterative/dvc",
    "https://github.com/kserve/kserve",
    "https://github.com/machine-learning-apps/actions-ml-cicd",
    "https://github.com/mlflow/mlflow",
    "https://github.com/mlflow/mlflow/tree/master/examples",
    "https://github.com/pytorch/serve",
    "https://github.com/tensorflow/serving",
    "https://github.com/triton-inference-server/server",
    "https://github.com/visenger/awesome-mlops",
    "https://huyenchip.com/blog/",
    "https://kserve.github.io/website/",
    "https://madewithml.com/",
    "https://medium.com/airbnb-engineering",
    "https://medium.com/airbnb-engineering/bighead-airbnbs-end-to-end-machine-learning-platform-8b08ea9f65e2",
    "https://ml-ops.org/",
    "https://mlflow.org/docs/latest/index.html",
    "https://mlflow.org/docs/latest/tutorials-and-examples/index.html",
    "https://mlops.community/",
    "https://mlopsworld.com/",
    "https://mlsys.org/",
    "https://netflixtechblog.com/",
    "https://netflixtechblog.com/tagged/machine-learning",
    "https://papers.nips.cc/paper/2015/file/86df7dcfd896fcaf2674f757a2463eba-Paper.pdf",
    "https://pytorch.org/serve/",
    "https://research.google/pubs/pub43146/",
    "https://wandb.ai/fully-connected",
    "https://wandb.ai/site/tutorials",
    "https://www.coursera.org/specializations/machine-learning-engineering-for-production-mlops",
    "https://www.coursera.org/specializations/mlops-machine-learning-duke",
    "https://www.linkedin.com/learning/practical-mlops-operationalizing-machine-learning",
    "https://www.oreilly.com/library/view/building-machine-learning/9781492045106/",
    "https://www.oreilly.com/library/view/introducing-mlops/9781492083283/",
    "https://www.oreilly.com/library/view/machine-learning-design/9781098115777/",
    "https://www.oreilly.com/library/view/reliable-machine-learning/9781098106218/",
    "https://www.reddit.com/r/mlops/",
    "https://www.tecton.ai/blog/",
    "https://www.tensorflow.org/certificate",
    "https://www.tensorflow.org/tfx/guide/serving",
    "https://www.uber.com/blog/engineering/",
    "https://www.uber.com/blog/michelangelo-machine-learning-platform/",
    "https://www.youtube.com/@WeightsBiases",
    "https://www.youtube.com/@mlopscommunity",
    "https://www.youtube.com/@neptune_ai",
    "https://www.youtube.com/c/AppliedMLSummit",
)

SECTION_IDS: tuple[str, ...] = (
    "essential-reading",
    "tools-platforms",
    "online-courses",
    "blogs-articles",
    "video-content",
    "hands-on-practice",
    "case-studies",
    "community-forums",
    "staying-current",
    "certifications",
)

CATEGORY_COUNTS: dict[str, int] = {
    "books": 4,
    "research-papers": 4,
    "experiment-tracking": 4,  # MLflow, W&B, Neptune.ai + Comet ML (comparison table only)
    "feature-stores": 4,  # Feast, Tecton, Hopsworks + AWS Feature Store (comparison table only)
    "model-serving": 4,
    "ci-cd-for-ml": 3,
    "free-courses": 4,
    "paid-courses": 3,
    "company-engineering-blogs": 5,
    "individual-blogs": 3,
    "youtube-channels": 3,
    "conference-talks": 3,
    "interactive-tutorials": 3,
    "sample-projects": 3,
    "industry-case-studies": 4,
    "community-forums": 4,
    "newsletters": 3,
    "podcasts": 3,
    "certifications": 4,
}
CATEGORY_IDS: tuple[str, ...] = tuple(CATEGORY_COUNTS)

CATEGORY_SECTIONS: dict[str, str] = {
    "books": "essential-reading",
    "research-papers": "essential-reading",
    "experiment-tracking": "tools-platforms",
    "feature-stores": "tools-platforms",
    "model-serving": "tools-platforms",
    "ci-cd-for-ml": "tools-platforms",
    "free-courses": "online-courses",
    "paid-courses": "online-courses",
    "company-engineering-blogs": "blogs-articles",
    "individual-blogs": "blogs-articles",
    "youtube-channels": "video-content",
    "conference-talks": "video-content",
    "interactive-tutorials": "hands-on-practice",
    "sample-projects": "hands-on-practice",
    "industry-case-studies": "case-studies",
    "community-forums": "community-forums",
    "newsletters": "staying-current",
    "podcasts": "staying-current",
    "certifications": "certifications",
}

KINDS = frozenset(
    {
        "book",
        "paper",
        "tool",
        "course",
        "blog",
        "video",
        "conference",
        "tutorial",
        "project",
        "case-study",
        "community",
        "newsletter",
        "podcast",
        "certification",
    }
)

# The seed gives these no link at all (and the two comparison-only products have none either).
NO_LINK_TITLES: frozenset[str] = frozenset(
    {
        "MLOps Newsletter",
        "The Batch by DeepLearning.AI",
        "ML News by Andriy Burkov",
        "MLOps.community Podcast",
        "Practical AI",
        "The TWIML AI Podcast",
        "AWS Certified Machine Learning - Specialty",
        "Microsoft Azure AI Engineer Associate",
        "Google Cloud Professional Machine Learning Engineer",
        "LinkedIn Groups",
        "Comet ML",
        "Amazon SageMaker Feature Store",
    }
)

STACK_OVERFLOW_TAG_URLS: tuple[str, ...] = (
    "https://stackoverflow.com/questions/tagged/mlops",
    "https://stackoverflow.com/questions/tagged/mlflow",
    "https://stackoverflow.com/questions/tagged/kubeflow",
)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@pytest.fixture(scope="module")
def catalog() -> dict:
    with CATALOG_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def by_id(catalog) -> dict[str, dict]:
    return {r["id"]: r for r in catalog["resources"]}


@pytest.fixture(scope="module")
def by_title(catalog) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for r in catalog["resources"]:
        found.setdefault(r["title"], []).append(r)
    return found


def _all_urls(resource: dict) -> list[str]:
    head = [resource["url"]] if resource.get("url") else []
    return head + [link["url"] for link in resource.get("links", [])]


def _normalize(url: str) -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{parts.path.rstrip('/')}{query}"


def _references(catalog) -> list[tuple[str, str]]:
    """(where, id) for every resource id the non-resource parts of the catalog point at."""
    refs: list[tuple[str, str]] = []
    for path in catalog["learning_paths"]:
        for step in path["steps"]:
            refs += [(f"path {path['level']}", rid) for rid in step.get("resources", [])]
    for block in catalog["schedule"]:
        for item in block["items"]:
            refs += [(f"weeks {block['weeks']}", rid) for rid in item.get("resources", [])]
    for step in catalog["getting_help"]["steps"]:
        refs += [("getting_help", rid) for rid in step.get("resources", [])]
    for comparison in catalog["comparisons"]:
        refs += [
            (f"comparison {comparison['id']}", c["resource"])
            for c in comparison["columns"]
            if c.get("resource")
        ]
    return refs


# --------------------------------------------------------------------------- seed coverage


def test_seed_url_list_is_complete():
    assert len(SEED_URLS) == 72
    assert len(set(SEED_URLS)) == 72


@pytest.mark.parametrize("url", SEED_URLS)
def test_every_seed_url_is_in_the_catalog(catalog, url):
    present = {u for r in catalog["resources"] for u in _all_urls(r)}
    assert url in present


def test_only_seed_urls_plus_stack_overflow_tag_pages(catalog):
    present = {u for r in catalog["resources"] for u in _all_urls(r)}
    assert present - set(SEED_URLS) == set(STACK_OVERFLOW_TAG_URLS)


def test_meta(catalog):
    assert catalog["version"] == 1
    assert catalog["meta"] == {
        "title": "Module 06: MLOps & Experiment Tracking - Learning Resources",
        "overview": "This document provides a curated list of resources to deepen your understanding of "
        "MLOps concepts, tools, and best practices covered in this module.",
        "last_updated": "2024-01-15",
        "closing": "Happy Learning!",
    }


def test_section_ids_in_seed_order(catalog):
    assert tuple(s["id"] for s in catalog["sections"]) == SECTION_IDS
    assert [s["title"] for s in catalog["sections"]][:2] == ["Essential Reading", "Tools & Platforms"]


def test_category_ids_and_sections(catalog):
    assert tuple(c["id"] for c in catalog["categories"]) == CATEGORY_IDS
    assert len(CATEGORY_IDS) == 19
    assert {c["id"]: c["section"] for c in catalog["categories"]} == CATEGORY_SECTIONS


def test_resource_count_per_category(catalog):
    counts = Counter(r["category"] for r in catalog["resources"])
    assert dict(counts) == CATEGORY_COUNTS
    assert len(catalog["resources"]) == 68


def test_entries_without_any_link(catalog):
    linkless = {r["title"] for r in catalog["resources"] if not _all_urls(r)}
    assert linkless == NO_LINK_TITLES


def test_stack_overflow_has_tag_links_and_tags(by_title):
    (so,) = by_title["Stack Overflow"]
    assert "url" not in so
    assert [link["url"] for link in so["links"]] == list(STACK_OVERFLOW_TAG_URLS)
    assert {"mlops", "mlflow", "kubeflow"} <= set(so["tags"])
    assert "Tags: `mlops`, `mlflow`, `kubeflow`" in so["notes"]


def test_repeated_mlops_community_url(by_title):
    (slack,) = by_title["MLOps Community Slack"]
    assert "url" not in slack
    assert {"label": "Join", "url": "https://mlops.community/"} in slack["links"]
    blog = [r for r in by_title["MLOps Community"] if r["category"] == "individual-blogs"]
    assert [r["url"] for r in blog] == ["https://mlops.community/"]


def test_comparison_only_products(by_title):
    (comet,) = by_title["Comet ML"]
    assert comet["category"] == "experiment-tracking"
    (aws,) = by_title["Amazon SageMaker Feature Store"]
    assert aws["category"] == "feature-stores"
    assert "AWS Feature Store" in aws["aliases"]


def test_seed_facts_kept(by_id):
    assert by_id["introducing-mlops"]["authors"] == ["Mark Treveil"]
    assert by_id["machine-learning-design-patterns"]["authors"] == [
        "Valliappa Lakshmanan",
        "Sara Robinson",
        "Michael Munn",
    ]
    assert by_id["reliable-machine-learning"]["authors"] == ["Cathy Chen", "Niall Murphy"]
    assert by_id["deeplearning-ai-mlops-specialization"]["authors"] == ["Andrew Ng"]
    assert by_id["ml-news-andriy-burkov"]["authors"] == ["Andriy Burkov"]
    years = {r["title"]: r["year"] for r in by_id.values() if r["category"] == "research-papers"}
    assert years == {
        "Hidden Technical Debt in Machine Learning Systems": 2015,
        "Machine Learning: The High-Interest Credit Card of Technical Debt": 2014,
        "Model Cards for Model Reporting": 2019,
        "Data Cascades in High-Stakes AI": 2021,
    }
    assert by_id["netflix-techblog"]["notes"][0] == 'Search for: "ML", "experimentation", "A/B testing"'
    assert by_id["weights-and-biases"]["aliases"] == ["W&B", "wandb", "weights and biases"]
    assert by_id["kserve"]["aliases"] == ["KFServing"]
    assert by_id["dvc"]["aliases"] == ["Data Version Control"]


def test_levels_only_where_the_learning_paths_imply_them(catalog):
    levels = {r["id"]: r["level"] for r in catalog["resources"] if "level" in r}
    assert levels == {
        "mlflow": "beginner",
        "introducing-mlops": "beginner",
        "github-actions": "beginner",
        "feast": "intermediate",
        "machine-learning-design-patterns": "intermediate",
        "uber-michelangelo": "advanced",
        "netflix-ml-infrastructure": "advanced",
        "airbnb-bighead": "advanced",
        "linkedin-pro-ml": "advanced",
    }


def test_costs(catalog, by_id):
    for r in catalog["resources"]:
        if r["category"] == "free-courses":
            assert r.get("cost") == "free", r["id"]
        if r["category"] in ("paid-courses", "books"):
            assert r.get("cost") == "paid", r["id"]
    assert {
        rid: by_id[rid].get("cost")
        for rid in (
            "mlflow",
            "feast",
            "tecton",
            "hopsworks",
            "weights-and-biases",
            "neptune-ai",
            "comet-ml",
            "amazon-sagemaker-feature-store",
        )
    } == {
        "mlflow": "free",
        "feast": "free",
        "tecton": "paid",
        "hopsworks": "freemium",
        "weights-and-biases": "paid",
        "neptune-ai": "paid",
        "comet-ml": "paid",
        "amazon-sagemaker-feature-store": None,
    }


# --------------------------------------------------------------------------- structure


def test_comparisons(catalog):
    comparisons = {c["id"]: c for c in catalog["comparisons"]}
    assert list(comparisons) == ["feature-stores", "experiment-tracking"]
    fs, et = comparisons["feature-stores"], comparisons["experiment-tracking"]
    assert fs["title"] == "Feature Store Comparison"
    assert et["title"] == "Experiment Tracking Comparison"
    assert [(c["name"], c["resource"]) for c in fs["columns"]] == [
        ("Feast", "feast"),
        ("Tecton", "tecton"),
        ("Hopsworks", "hopsworks"),
        ("AWS Feature Store", "amazon-sagemaker-feature-store"),
    ]
    assert [(c["name"], c["resource"]) for c in et["columns"]] == [
        ("MLflow", "mlflow"),
        ("W&B", "weights-and-biases"),
        ("Neptune.ai", "neptune-ai"),
        ("Comet ML", "comet-ml"),
    ]
    assert [r["feature"] for r in fs["rows"]] == [
        "Type",
        "Deployment",
        "Streaming",
        "Transformation",
        "Best For",
    ]
    assert [r["feature"] for r in et["rows"]] == [
        "Type",
        "Self-hosted",
        "Visualization",
        "Collaboration",
        "Best For",
    ]
    assert fs["rows"][0]["values"] == ["Open-source", "Commercial", "Open/Commercial", "Cloud service"]
    assert et["rows"][1]["values"] == ["Yes", "No", "No", "No"]
    assert et["rows"][4]["values"] == ["Open-source needs", "Teams", "Metadata mgmt", "Research teams"]
    for comparison in (fs, et):
        for row in comparison["rows"]:
            assert len(row["values"]) == len(comparison["columns"]) == 4
            assert all(isinstance(v, str) for v in row["values"]), row


def test_learning_paths(catalog):
    paths = catalog["learning_paths"]
    assert [(p["level"], p["title"], p["duration"]) for p in paths] == [
        ("beginner", "Beginner Path", "1-2 months"),
        ("intermediate", "Intermediate Path", "2-3 months"),
        ("advanced", "Advanced Path", "3-6 months"),
    ]
    assert [len(p["steps"]) for p in paths] == [5, 5, 5]
    assert paths[0]["steps"][1]["text"] == 'Complete "Introducing MLOps" book'
    assert paths[2]["steps"][4]["text"] == "Optimize for scale and cost"


def test_schedule_covers_weeks_one_to_ten(catalog):
    schedule = catalog["schedule"]
    assert len(schedule) == 5
    weeks = [w for block in schedule for w in block["weeks"]]
    assert sorted(weeks) == list(range(1, 11))
    assert [b["title"] for b in schedule] == [
        "Foundations",
        "Feature Engineering",
        "CI/CD",
        "Production Deployment",
        "Best Practices",
    ]
    assert all(len(b["items"]) == 3 for b in schedule)
    assert schedule[0]["items"][2]["text"] == 'Read "Introducing MLOps" (Chapters 1-4)'


def test_additional_topics(catalog):
    groups = catalog["additional_topics"]
    assert [g["title"] for g in groups] == ["Advanced Topics", "Specialized Domains", "Enterprise Concerns"]
    assert [len(g["items"]) for g in groups] == [4, 4, 4]
    assert groups[2]["items"][1] == "Regulatory compliance (GDPR, CCPA)"


def test_getting_help_and_contributing(catalog):
    help_ = catalog["getting_help"]
    assert help_["intro"] == "If you have questions while working through this module:"
    assert len(help_["steps"]) == 5
    assert help_["steps"][3] == {
        "text": "Ask in the MLOps Community Slack",
        "resources": ["mlops-community-slack"],
    }
    contributing = catalog["contributing"]
    assert contributing["intro"] == "Found a great resource we missed? Please contribute"
    assert contributing["rules"] == [
        "Submit a pull request with additions",
        "Ensure resources are relevant to MLOps",
        "Include brief description and why it's valuable",
    ]


# --------------------------------------------------------------------------- integrity


def test_ids_unique_and_slugs(catalog):
    ids = [r["id"] for r in catalog["resources"]]
    assert len(ids) == len(set(ids))
    assert all(SLUG.match(i) for i in ids), [i for i in ids if not SLUG.match(i)]


def test_primary_urls_unique(catalog):
    primary = [r["url"] for r in catalog["resources"] if r.get("url")]
    assert len(primary) == len(set(primary))
    normalized = Counter(_normalize(u) for u in primary)
    assert [u for u, n in normalized.items() if n > 1] == []


def test_references_point_at_resources(catalog, by_id):
    refs = _references(catalog)
    assert refs, "expected cross references"
    assert [(where, rid) for where, rid in refs if rid not in by_id] == []


def test_categories_and_sections_exist(catalog):
    categories = {c["id"] for c in catalog["categories"]}
    sections = {s["id"] for s in catalog["sections"]}
    assert {r["category"] for r in catalog["resources"]} <= categories
    assert {c["section"] for c in catalog["categories"]} <= sections


def test_kinds_levels_costs_allowed(catalog):
    for r in catalog["resources"]:
        assert r["kind"] in KINDS, r["id"]
        assert r.get("level", "beginner") in ("beginner", "intermediate", "advanced"), r["id"]
        assert r.get("cost", "free") in ("free", "paid", "freemium"), r["id"]


def test_summaries_tags_aliases(catalog):
    seen_aliases: Counter[str] = Counter()
    for r in catalog["resources"]:
        summary = r["summary"]
        assert isinstance(summary, str) and summary.strip(), r["id"]
        assert len(summary) <= 140 and "\n" not in summary, r["id"]
        tags = r["tags"]
        assert 3 <= len(tags) <= 8, r["id"]
        assert all(SLUG.match(t) for t in tags), (r["id"], tags)
        assert len(tags) == len(set(tags)), r["id"]
        seen_aliases.update(a.lower() for a in r.get("aliases", []))
    assert [a for a, n in seen_aliases.items() if n > 1] == []
