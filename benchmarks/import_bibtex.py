"""How long a 10,000-entry BibTeX import takes, against bibtexparser's bare parse and
against the database's own cost of the same writes.

    .venv/bin/python benchmarks/import_bibtex.py [--entries 10000] [--repeat 3] [--skip-latex]

Runs on a fresh in-memory SQLite database (nothing on disk is touched) and prints, in CPU
seconds of this process (time.process_time), the median of --repeat runs of:
bibtexparser's bare parse (``bibtexparser.parse_string(text, parse_stack=[])``: the
library's splitter, the one call the importer makes, without the middlewares of its
default stack, which the importer does not use; about 12% faster than the default);
the catalog's parse (damage checks and LaTeX decoding included); the full import (parse,
validate, dedupe, create with history); the floor (the rows the import wrote, written again
into the same tables by one executemany a table: benchmarks/insert_floor.py); a re-import
of the same file (all duplicates). bibtexparser with its LaTeX-decoding middleware is timed
once, for comparison: it is slow (--skip-latex leaves it out).

The importer writes studies with executemany and copies their history rows in the database
(studies/bulk_writes.py, insert and copy_to_history); tests/test_importers.py
(BulkWriteGuardTests) fails when a field of Study or of its history model is not written by
them. Figures: benchmarks/README.md.
"""

import argparse
import gc
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = "sqlite://:memory:"
os.environ.setdefault("SECRET_KEY", "benchmark-only")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ldn_catalog.settings")

import django  # noqa: E402

django.setup()

import bibtexparser  # noqa: E402
from bibtexparser.middlewares import LatexDecodingMiddleware  # noqa: E402
from django.core.management import call_command  # noqa: E402

from benchmarks.insert_floor import empty_catalog, insert_floor, written_rows  # noqa: E402
from studies.bibtex import parse_entries  # noqa: E402
from studies.importers import import_bibtex  # noqa: E402
from studies.models import Study  # noqa: E402

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
]
LATEX_TITLES = [
    r"Effects of {LDN} on M{\"u}ller cells",
    r"Na{\"\i}ve patients \& controls: a 12--24 week study",
    r"{\'E}tude of low-dose naltrexone in {C}rohn's disease",
]


def bibtex_file(entries, seed=1):
    rng = random.Random(seed)
    chunks = []
    for n in range(entries):
        if n % 10 == 0:  # one entry in ten holds LaTeX markup
            title = f"{rng.choice(LATEX_TITLES)} {n}"
        else:
            title = " ".join(rng.choices(WORDS, k=9)).capitalize() + f" {n}"
        authors = " and ".join(f"Author{rng.randrange(999)}, A." for _ in range(4))
        chunks.append(
            f"@article{{key{n},\n"
            f"  title = {{{title}}},\n"
            f"  author = {{{authors}}},\n"
            f"  journal = {{Journal of Studies {n % 50}}},\n"
            f"  year = {{{1990 + n % 35}}},\n"
            f"  volume = {{{n % 40}}},\n  number = {{{n % 12}}},\n"
            f"  pages = {{{n % 300}--{n % 300 + 9}}},\n"
            f"  doi = {{10.5555/bench.{n}}},\n"
            f"  pmid = {{{30000000 + n}}},\n"
            f"}}\n\n"
        )
    return "".join(chunks)


def timed(function, repeat=1, reset=None):
    """The median CPU time of ``repeat`` runs, and the last run's result.

    Each run starts from the same heap: the previous run's result freed and the garbage
    collected first. (Timing an import while the previous import's report and a parsed
    file were still held made its garbage collections walk them too: 0.24 s more for a
    10,000-entry file, which no import in the worker pays.)
    """
    times, result = [], None
    for _ in range(repeat):
        result = None
        if reset:
            reset()
        gc.collect()
        start = time.process_time()
        result = function()
        times.append(time.process_time() - start)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--skip-latex", action="store_true", help="skip the slow LaTeX-middleware comparison"
    )
    arguments = parser.parse_args()
    entries, repeat = arguments.entries, arguments.repeat
    logging.disable(logging.WARNING)
    call_command("migrate", verbosity=0)
    text = bibtex_file(entries)
    print(
        f"{entries:,} entries, {len(text) / 1e6:.1f} MB; median of {repeat} runs (LaTeX: 1); "
        "CPU seconds"
    )

    bare = timed(lambda: bibtexparser.parse_string(text, parse_stack=[]), repeat)[0]
    latex = None
    if not arguments.skip_latex:
        latex = timed(
            lambda: bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
        )[0]
    ours = timed(lambda: parse_entries(text), repeat)[0]
    full, report = timed(lambda: import_bibtex(text, "benchmark.bib"), repeat, empty_catalog)
    assert len(report.created) == entries == Study.objects.count() == Study.history.count()
    report = None
    tables = written_rows()
    floor = timed(lambda: insert_floor(tables), repeat, empty_catalog)[0]
    assert written_rows() == tables
    again, report = timed(lambda: import_bibtex(text, "benchmark.bib"), repeat)
    assert len(report.duplicates) == entries and not report.created

    print(f"bibtexparser bare parse            {bare:7.2f} s")
    if latex is not None:
        print(f"bibtexparser + LatexDecoding       {latex:7.2f} s  ({latex / bare:.1f}x bare)")
    print(f"catalog parse (checks + decoding)  {ours:7.2f} s  ({ours / bare:.1f}x bare)")
    print(f"full import (parse..create+history){full:7.2f} s  ({full / bare:.1f}x bare)")
    print(
        f"floor (the same rows, executemany) {floor:7.2f} s  "
        f"(import {full / floor:.1f}x floor, {full / (bare + floor):.1f}x bare + floor)"
    )
    print(f"re-import, all duplicates          {again:7.2f} s  ({again / bare:.1f}x bare)")


if __name__ == "__main__":
    main()
