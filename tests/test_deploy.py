"""deploy/: every file parses, asks for paths the bot serves, names only settings the bot reads, runs
commands the CLI accepts, and keeps the replica rules (Slack scaled out behind a PodDisruptionBudget,
Discord exactly one, PostgreSQL up before the bot)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import build_parser
from bot.health import HEALTH_PATH, READY_PATH
from bot.metrics import METRICS_PATH
from tests.conftest import REPO
from tests.test_settings import env_names

DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
YAML_FILES = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yaml.example")])
KUBERNETES_FILES = [path for path in YAML_FILES if KUBERNETES in path.parents]
COMPOSE_FILES = sorted(DEPLOY.glob("compose*.yaml"))
SERVED = {HEALTH_PATH, READY_PATH, METRICS_PATH}
# Set by the image for Python itself, not read by the bot.
NOT_SETTINGS = {"PYTHONUNBUFFERED"}
PROBE_URL = re.compile(r"http://127\.0\.0\.1:%s(/[a-z]+)")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def kubernetes(kind: str) -> list[dict[str, Any]]:
    return [d for path in KUBERNETES_FILES for d in documents(path) if d["kind"] == kind]


def deployment(name: str) -> dict[str, Any]:
    (found,) = [d for d in kubernetes("Deployment") if d["metadata"]["name"] == name]
    return found


def container(deployment_: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment_["spec"]["template"]["spec"]["containers"]
    return only


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def dockerfile_instruction(name: str) -> str:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", "")
    (line,) = re.findall(rf"^{name} (.*)$", text, re.MULTILINE)
    return line


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_deploy_file_is_valid_yaml(path: Path) -> None:
    assert documents(path)


def test_every_kubernetes_probe_asks_for_a_path_the_bot_serves() -> None:
    deployments = kubernetes("Deployment")
    assert len(deployments) == 3  # Slack, Discord, and the one-replica SQLite variant
    for found in deployments:
        bot = container(found)
        assert bot["readinessProbe"]["httpGet"]["path"] == READY_PATH
        assert bot["livenessProbe"]["httpGet"]["path"] == HEALTH_PATH
        annotations = found["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/path"] == METRICS_PATH


def test_the_containers_port_is_the_one_the_bot_listens_on_and_is_scraped_on() -> None:
    (config,) = kubernetes("ConfigMap")
    for found in kubernetes("Deployment"):
        (port,) = container(found)["ports"]
        assert port["containerPort"] == int(config["data"]["PORT"])
        assert found["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == config["data"]["PORT"]


def test_the_compose_files_and_the_dockerfile_check_a_path_the_bot_serves() -> None:
    checks = [dockerfile_instruction("HEALTHCHECK")]
    for path in COMPOSE_FILES:
        checks += [" ".join(s["healthcheck"]["test"]) for s in documents(path)[0]["services"].values()
                   if "build" in s]
    for check in checks:
        assert set(PROBE_URL.findall(check)) <= SERVED and PROBE_URL.search(check), check


def named_environment() -> dict[str, set[str]]:
    """Every environment variable the deploy files give the bot, by where it is named."""
    found: dict[str, set[str]] = {}
    for kind in ("ConfigMap", "Secret"):
        for d in kubernetes(kind):
            found[f"{kind} {d['metadata']['name']}"] = set(d.get("data") or {}) | set(d.get("stringData") or {})
    for d in kubernetes("Deployment"):
        found[f"Deployment {d['metadata']['name']}"] = {e["name"] for e in container(d).get("env", [])}
    for path in COMPOSE_FILES:
        for name, service in documents(path)[0]["services"].items():
            if "build" in service:  # the bot; postgres's own variables are the image's
                found[f"{path.name} {name}"] = set(service.get("environment") or {})
    env_line = dockerfile_instruction("ENV")
    found["Dockerfile"] = set(re.findall(r"([A-Z_]+)=", env_line)) - NOT_SETTINGS
    return found


def test_every_environment_variable_the_files_name_is_a_setting() -> None:
    settings = env_names()
    # The ConfigMap's commented-out keys count too: they are what an operator uncomments.
    commented = set(re.findall(r"^\s*# ([A-Z_]+): ", (KUBERNETES / "config.yaml").read_text(), re.MULTILINE))
    for where, names in [*named_environment().items(), ("config.yaml comments", commented)]:
        assert names <= settings, f"{where} names {sorted(names - settings)}, which the bot does not read"


def test_the_discord_deployment_is_exactly_one_pod_never_two_at_once() -> None:
    discord = deployment("mlops-bot-discord")
    assert discord["spec"]["replicas"] == 1
    assert discord["spec"]["strategy"] == {"type": "Recreate"}
    assert container(discord)["args"] == ["run", "--only", "discord"]
    labels = discord["spec"]["template"]["metadata"]["labels"]
    assert not any(selects(pdb["spec"]["selector"]["matchLabels"], labels)
                   for pdb in kubernetes("PodDisruptionBudget"))  # minAvailable 1 of 1 would block drains


def test_the_slack_deployment_runs_two_replicas_and_a_disruption_budget_keeps_one() -> None:
    slack = deployment("mlops-bot-slack")
    assert slack["spec"]["replicas"] == 2
    assert container(slack)["args"] == ["run", "--only", "slack"]
    labels = slack["spec"]["template"]["metadata"]["labels"]
    (pdb,) = kubernetes("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1 and selects(pdb["spec"]["selector"]["matchLabels"], labels)
    assert selects(slack["spec"]["selector"]["matchLabels"], labels)


def test_each_service_selects_the_pods_of_one_deployment() -> None:
    for service in kubernetes("Service"):
        matching = [d["metadata"]["name"] for d in kubernetes("Deployment")
                    if selects(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])]
        assert len(matching) == 1, (service["metadata"]["name"], matching)


def test_the_sqlite_variant_is_one_replica_on_a_volume_and_the_others_keep_state_in_postgresql() -> None:
    single = deployment("mlops-bot")
    assert single["spec"]["replicas"] == 1 and single["spec"]["strategy"] == {"type": "Recreate"}
    assert {e["name"]: e["value"] for e in container(single)["env"]}["DATABASE_URL"].startswith("sqlite:")
    (secret,) = kubernetes("Secret")
    assert secret["stringData"]["DATABASE_URL"].startswith("postgresql://")


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


def test_every_container_has_room_for_the_measured_memory_and_a_reload() -> None:
    measured = 120  # MB resident, the catalog indexed
    for found in kubernetes("Deployment"):
        resources = container(found)["resources"]
        request, limit = mebibytes(resources["requests"]["memory"]), mebibytes(resources["limits"]["memory"])
        assert measured < request < limit and limit >= 2 * measured, found["metadata"]["name"]


def test_the_secret_example_holds_placeholders_and_kubectl_apply_of_the_folder_skips_it() -> None:
    (secret,) = kubernetes("Secret")
    for name, value in secret["stringData"].items():
        assert "REPLACE_ME" in value, name
        assert not re.search(r"xox[abposre]-|xapp-", value), name
    # kubectl apply -f deploy/kubernetes/ reads .yaml, .yml and .json files of the folder itself.
    applied = [p for p in KUBERNETES.iterdir() if p.suffix in (".yaml", ".yml", ".json")]
    assert applied and not any(d["kind"] == "Secret" for p in applied for d in documents(p))


def test_compose_starts_the_bot_once_postgresql_is_healthy_with_its_data_on_a_named_volume() -> None:
    (compose,) = documents(DEPLOY / "compose.yaml")
    services = compose["services"]
    postgres, bot = services["postgres"], services["bot"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert re.fullmatch(r"postgresql://\w+:\w+@postgres:5432/\w+", bot["environment"]["DATABASE_URL"])
    assert bot["env_file"] == "../.env" and (DEPLOY / bot["env_file"]).resolve() == REPO / ".env"
    (volume,) = postgres["volumes"]
    name, mount = volume.split(":")
    assert mount == "/var/lib/postgresql/data" and name in compose["volumes"]
    assert bot["ports"] == [f"{bot['environment']['PORT']}:{bot['environment']['PORT']}"]


def test_the_sqlite_compose_keeps_its_database_on_a_named_volume_and_runs_no_database_server() -> None:
    (compose,) = documents(DEPLOY / "compose.sqlite.yaml")
    (bot,) = compose["services"].values()
    (volume,) = bot["volumes"]
    name, mount = volume.split(":")
    assert name in compose["volumes"]
    assert bot["environment"]["DATABASE_URL"] == f"sqlite:///{mount}/mlops-bot.db"


def test_every_command_the_files_run_is_one_the_cli_accepts() -> None:
    entrypoint = json.loads(dockerfile_instruction("ENTRYPOINT"))
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert entrypoint == ["mlops-bot"] and entrypoint[0] in scripts
    commands = [json.loads(dockerfile_instruction("CMD"))]
    commands += [container(d)["args"] for d in kubernetes("Deployment")]
    commands += [s["command"] for path in COMPOSE_FILES for s in documents(path)[0]["services"].values()
                 if "build" in s]
    parser = build_parser()
    for args in commands:
        assert parser.parse_args(args).command == "run", args
