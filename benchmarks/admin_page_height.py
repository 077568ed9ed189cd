"""How tall the tallest study change page of the curated catalog is, in Chromium.

    .venv/bin/python -m benchmarks.admin_page_height [--tree PATH] [--port 8102]

``--tree`` measures another checkout of the project (e.g. an older commit unpacked with
``git archive``), for a before/after figure. Builds a SQLite database in benchmarks/out/,
loads the catalog, starts the development server on ``--port``, logs in as a curator and
prints the page's scroll height at a 1280x800 window for the study with most inline rows.
"""

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long benchmark curator password"
INLINE_ROWS = " + ".join(
    f"(SELECT count(*) FROM studies_{table} WHERE study_id = s.id)"
    for table in ("outcome", "effectsummary", "claim", "mention")
)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--port", type=int, default=8102)
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    db = out / "admin_page_height.sqlite3"
    db.unlink(missing_ok=True)
    env = dict(os.environ, SECRET_KEY="benchmark", DEBUG="1", DATABASE_URL=f"sqlite:///{db}")

    def manage(*command):
        subprocess.run([sys.executable, "manage.py", *command], cwd=args.tree, env=env, check=True)

    manage("migrate", "-v0")
    manage("loaddata", "catalog", "-v0")
    manage("create_curator", "bench", "--password", PASSWORD)
    with sqlite3.connect(db) as connection:
        pk, rows = connection.execute(
            f"SELECT s.id, {INLINE_ROWS} AS n FROM studies_study s ORDER BY n DESC LIMIT 1"
        ).fetchone()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{args.port}", "--noreload"],
        cwd=args.tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        time.sleep(5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                args=["--no-sandbox"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base}/admin/login/")
            page.fill("#id_username", "bench")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/")
            page.goto(f"{base}/admin/studies/study/{pk}/change/")
            height = page.evaluate("document.documentElement.scrollHeight")
            browser.close()
    finally:
        server.terminate()
        server.wait()
    print(f"{args.tree}: study {pk} ({rows} inline rows): {height:,} px at 1280x800")


if __name__ == "__main__":
    main()
