"""One decision across processes: two operators approving at once from two processes on one PostgreSQL."""

from __future__ import annotations

import asyncio
import json

from tests.conftest import BIN, clean_env
from tests.pg import fresh_postgres_database


async def mlops_bot(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(BIN / "mlops-bot", *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


async def test_two_processes_approving_at_once_record_one_decision(tmp_path):
    with fresh_postgres_database() as url:
        env = clean_env(DATABASE_URL=url)
        code, out = await mlops_bot(env, "ask", "suggest https://example.com/guides/drift-101 Drift 101")
        assert code == 0 and "Suggestion #1 received" in out, out
        results = await asyncio.gather(*(mlops_bot(env, "suggestions", "approve", "1") for _ in range(2)),
                                       mlops_bot(env, "suggestions", "reject", "1", "--reason", "no"))
        won = [out for code, out in results if code == 0]
        lost = [out for code, out in results if code != 0]
        assert len(won) == 1 and len(lost) == 2, results
        assert all("decided already" in out for out in lost)
        code, log = await mlops_bot(env, "suggestions", "log", "1", "--format", "json")
        decisions = [e for e in json.loads(log) if e["action"] in ("approved", "rejected")]
        assert len(decisions) == 1
        # Whoever won, every process sees the same outcome.
        code, shown = await mlops_bot(env, "suggestions", "show", "1", "--format", "json")
        assert json.loads(shown)["state"] == decisions[0]["action"]


async def test_search_and_ask_in_another_process_see_an_approved_resource(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/bot.db")
    await mlops_bot(env, "ask", "suggest https://example.com/guides/drift-101 Drift Detection 101")
    await mlops_bot(env, "suggestions", "approve", "1", "--kind", "tutorial", "--category", "experiment-tracking")
    _, out = await mlops_bot(env, "search", "drift detection 101", "--format", "json", "--limit", "1")
    assert json.loads(out)[0]["id"] == "drift-detection-101"
    _, out = await mlops_bot(env, "ask", "/mlops resource drift detection 101")
    assert "Drift Detection 101" in out.split("\n", 3)[2]
