"""Large BibTeX imports as background jobs: time and peak memory of the preview and of the
worker that imports, for a realistic 2.7 MB (12,000 entries) and 20 MB (41,000 entries) file,
on SQLite and on PostgreSQL.

    .venv/bin/python -m benchmarks.import_jobs [--db sqlite|pg] [--sizes 12000:2.7 41000:20]

For each size it writes a file of distinct, realistic entries (titles, authors, journals,
DOIs, PMIDs, keywords naming catalog conditions, an abstract to reach the size; one entry in
ten with LaTeX markup), into a fresh database (a SQLite file under benchmarks/out/, or the
PostgreSQL database ldn_import_jobs_bench, dropped and created again), then, each in its own
process so that its peak RSS (ru_maxrss from wait4) is its own:

- upload: what the admin's upload request does (decode, count the entries, keep the file
  compressed in an ImportJob and queue it);
- worker: preview: `manage.py db_worker --batch` checks every entry against the catalog and
  keeps the per-entry report, writing nothing;
- confirm: the curator's confirmation queues the job again;
- worker: check + write: the worker checks again and writes the new studies in bulk.

It also previews 500,000 lines of `@a{` (2 MB; refused whole: over the entries limit) and
40,000 lines of `@a{` (under the limit: every entry reported). Figures: benchmarks/README.md.
"""

import argparse
import os
import random
import subprocess
import sys
import time

from benchmarks.common import OUT, PG_SERVER, PYTHON, ROOT, django_env

WORDS = [
    "low",
    "dose",
    "naltrexone",
    "fibromyalgia",
    "pain",
    "crohn",
    "disease",
    "multiple",
    "sclerosis",
    "trial",
    "randomised",
    "placebo",
    "controlled",
    "pilot",
    "study",
    "cohort",
    "outcomes",
    "fatigue",
    "inflammation",
    "microglia",
    "opioid",
    "antagonist",
    "glial",
    "modulation",
    "chronic",
    "regional",
    "syndrome",
    "quality",
    "life",
    "depression",
    "itch",
]
JOURNALS = [
    "Pain Medicine",
    "Arthritis & Rheumatism",
    "Annals of Neurology",
    "American Journal of Gastroenterology",
    "Clinical Rheumatology",
    "Journal of Neuroimmunology",
]
KEYWORDS = ["Fibromyalgia", "Crohn's disease", "Multiple sclerosis", "Chronic pain", "unknown"]
LATEX = [r"M{\"u}ller", r"{\'E}tude", r"na{\"\i}ve \& 12--24 weeks", r"{LDN} in {C}rohn's"]


def bibtex_file(entries, megabytes, seed=1):
    """``entries`` distinct entries of about ``megabytes`` in all: the fields every entry has,
    then volume, number, PMID, keywords and an abstract while there is room."""
    rng = random.Random(seed)
    per_entry = int(megabytes * 1_000_000 / entries)
    chunks = []
    for n in range(entries):
        title = " ".join(rng.choices(WORDS, k=6)).capitalize()
        if n % 10 == 0:
            title = f"{title} {rng.choice(LATEX)}"
        authors = " and ".join(
            f"{rng.choice(WORDS).capitalize()}, {chr(65 + rng.randrange(26))}."
            for _ in range(rng.randrange(1, 4))
        )
        entry = (
            f"@article{{e{n},\n title = {{{title} {n}}},\n author = {{{authors}}},\n"
            f" journal = {{{rng.choice(JOURNALS)}}},\n year = {{{1990 + n % 35}}},\n"
            f" doi = {{10.5555/b.{n}}},\n"
        )
        for extra in (
            f" pages = {{{n % 300 + 1}--{n % 300 + 9}}},\n",
            f" keywords = {{{rng.choice(KEYWORDS)}}},\n",
            f" volume = {{{n % 40 + 1}}},\n number = {{{n % 12 + 1}}},\n",
            f" pmid = {{{30000000 + n}}},\n",
        ):
            if len(entry) + len(extra) + 3 <= per_entry:
                entry += extra
        room = per_entry - len(entry) - 20
        if room > 0:
            words = []
            while sum(len(w) + 1 for w in words) < room:
                words.append(rng.choice(WORDS))
            entry += f" abstract = {{{' '.join(words)}}},\n"
        chunks.append(entry + "}\n")
    return "".join(chunks)


UPLOAD = """
import time
from studies.importers import UnreadableFile, decode_upload
from studies.models import ImportJob
start = time.perf_counter()
try:
    text = decode_upload(open({path!r}, 'rb').read())
except UnreadableFile as error:
    print('refused:', error)
else:
    job = ImportJob.submit(text, 'bench.bib')
    print(f'job {{job.pk}} queued')
print(f'elapsed {{time.perf_counter() - start:.2f}}')
"""
CONFIRM = """
from studies.models import ImportJob
job = ImportJob.objects.latest('pk')
print(job.status, job.report['entries'], job.report['new'], job.report['errors'])
assert job.confirm()
"""
RESULT = """
from studies.models import ImportJob, Study
job = ImportJob.objects.latest('pk')
print(job.status, job.report['created'], Study.objects.count(), Study.history.count())
"""


def run(env, *args):
    """Run ``manage.py args`` in its own process: (seconds, peak RSS in MB, output)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    output = process.stdout.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{output}")
    return elapsed, usage.ru_maxrss / 1024, output


def fresh_database(kind):
    OUT.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        path = OUT / "import-jobs.sqlite3"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        name = "ldn_import_jobs_bench"
        for command in (["dropdb", "--if-exists"], ["createdb"]):
            subprocess.run([*command, "-h", "127.0.0.1", "-U", "postgres", name], check=True)
        url = f"{PG_SERVER}/{name}"
    env = django_env(url)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [PYTHON, "manage.py", "loaddata", "catalog", "-v0"], cwd=ROOT, env=env, check=True
    )
    return env


def worker(env):
    return run(env, "db_worker", "--batch", "--no-reload", "--no-startup-delay", "-v0")


def shell(env, code):
    return run(env, "shell", "--no-imports", "-c", code)


def measure(kind, entries, megabytes):
    env = fresh_database(kind)
    path = OUT / f"import-{entries}.bib"
    path.write_text(bibtex_file(entries, megabytes))
    size = path.stat().st_size / 1e6
    idle = shell(env, "pass")
    steps = [
        ("upload (the admin's request)", shell(env, UPLOAD.format(path=str(path)))),
        ("worker: preview", worker(env)),
        ("confirm", confirm := shell(env, CONFIRM)),
        ("worker: check + write", worker(env)),
    ]
    print(f"\n{kind}: {entries:,} entries, {size:.1f} MB (preview: {confirm[2].strip()})")
    print(f"  {'bare Django process':30} {idle[0]:6.1f} s  {idle[1]:6.0f} MB peak")
    for label, (seconds, peak, _) in steps:
        print(f"  {label:30} {seconds:6.1f} s  {peak:6.0f} MB peak")
    print(f"  job: {shell(env, RESULT)[2].strip()}  (status, created, studies, history rows)")


def measure_junk(kind):
    for lines in (500_000, 40_000):
        env = fresh_database(kind)
        path = OUT / f"junk-{lines}.bib"
        path.write_text("@a{\n" * lines)
        upload = shell(env, UPLOAD.format(path=str(path)))
        print(
            f"  {lines:,} lines of @a{{: upload {upload[0]:5.1f} s {upload[1]:5.0f} MB peak: "
            f"{upload[2].splitlines()[0][:100]}"
        )
        if "queued" in upload[2]:
            seconds, peak, _ = worker(env)
            report = shell(
                env,
                "from studies.models import ImportJob; j = ImportJob.objects.get();"
                "print(j.status, j.report['entries'], j.report['errors'])",
            )
            print(f"    worker: preview {seconds:5.1f} s {peak:5.0f} MB peak: {report[2].strip()}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--sizes", nargs="+", default=["12000:2.7", "41000:20"])
    arguments = parser.parse_args()
    for size in arguments.sizes:
        entries, megabytes = size.split(":")
        measure(arguments.db, int(entries), float(megabytes))
    print(f"\n{arguments.db}: damaged files")
    measure_junk(arguments.db)


if __name__ == "__main__":
    sys.exit(main())
