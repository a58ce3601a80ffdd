"""A resource whose main link looked broken in two checks in a row says so in answers and ranks lower."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import textwrap
from pathlib import Path

from bot.app.catalog_care import CatalogCare
from bot.app.linkcheck import LinkChecker
from bot.app.links_cli import check_catalog
from bot.app.posting import Posters
from bot.service import Request
from bot.storage import open_store
from tests.app.link_server import serving, serving_in_thread
from tests.app.test_links_cli import no_wait, service_for
from tests.conftest import BIN, clean_env


async def test_a_link_broken_twice_is_marked_with_its_date_and_ranks_lower(tmp_path: Path):
    clock = [dt.datetime(2026, 12, 3, 4, 0, tzinfo=dt.UTC)]
    store = open_store(f"sqlite:///{tmp_path}/x.db", clock=lambda: clock[0])
    try:
        async with serving() as server:
            # Two tools that match "model tool" alike; the first's link will be gone.
            service = service_for(server, {"model-tool-a": "/missing", "model-tool-b": "/ok"})
            care = CatalogCare(service, store, Posters(), {})
            before = [i.title for i in service.answer(Request("resource model tool")).items]
            assert before[0] == "Model Tool A"
            await check_catalog(service.catalog, store, checker=LinkChecker(timeout=0.3, clock=lambda: clock[0],
                                                                             sleep=no_wait))
            assert await care.refresh() == 0  # once is not enough: a site may be down for an hour
            clock[0] += dt.timedelta(days=7)
            await check_catalog(service.catalog, store, checker=LinkChecker(timeout=0.3, clock=lambda: clock[0],
                                                                             sleep=no_wait))
            assert await care.refresh() == 1
        reply = service.answer(Request("resource model tool"))
        assert [i.title for i in reply.items] == ["Model Tool B", "Model Tool A"]
        marked = next(i for i in reply.items if i.title == "Model Tool A")
        assert "this link looked broken on 3 Dec" in marked.meta
        service.add_approved([])  # an approval or a reload rebuilds the context: the marks stay
        assert "this link looked broken on 3 Dec" in next(
            i for i in service.answer(Request("resource model tool")).items if i.title == "Model Tool A").meta
    finally:
        store.close()


def test_mlops_bot_links_check_stores_runs_and_ask_shows_the_mark(tmp_path: Path):
    with serving_in_thread() as server:
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(textwrap.dedent(f"""
            version: 1
            categories:
              - {{id: tools, title: Tools, section: ""}}
            resources:
              - {{id: gone-tool, title: Gone Tool, kind: tool, category: tools, summary: a tool,
                  url: "{server.url('/missing')}"}}
              - {{id: fine-tool, title: Fine Tool, kind: tool, category: tools, summary: a tool,
                  url: "{server.url('/ok')}"}}
        """), encoding="utf-8")
        env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/bot.db", MLOPS_BOT_CATALOG=str(catalog))
        for _ in range(2):
            done = subprocess.run([BIN / "mlops-bot", "links", "check", "--format", "json"], capture_output=True,
                                  text=True, env=env, cwd=tmp_path, timeout=60)
            assert done.returncode == 1, done.stderr
            assert json.loads(done.stdout)["summary"]["broken"] == 1
    answer = subprocess.run([BIN / "mlops-bot", "ask", "/mlops resource gone tool"], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=60, check=True).stdout
    assert "this link looked broken on" in answer
