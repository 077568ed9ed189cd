"""How long a 10,000-record import takes in each format, against that format's bare parse.

    .venv/bin/python benchmarks/import_formats.py [--records 10000] [--repeat 3] \
        [--formats ris,medline,...]

Runs on a fresh in-memory SQLite database and prints, in seconds, the best of --repeat runs
of, for each format: the bare parse by the library the importer builds on (rispy for RIS,
Biopython's Bio.Medline for MEDLINE, the json module for CSL JSON, ClinicalTrials.gov
JSON and the catalog's JSON, the csv module for the catalog's CSV); the catalog's parse
(records cut apart with their line numbers, damage checks); the preview (parse, validate,
find duplicates: what the curator sees, nothing written); the full import (the preview
and creating every study with its history record); a re-import (all duplicates, each
compared field by field with the catalog's study). Ratios are to the bare parse.

The files are synthetic, one record in ten holding non-ASCII names, every record with a
DOI and a PMID (an NCT id for trials), so that duplicate detection has work to do.

Figures: see benchmarks/README.md ("import_formats").
"""

import argparse
import csv
import io
import json
import logging
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = "sqlite://:memory:"
os.environ.setdefault("SECRET_KEY", "benchmark-only")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ldn_catalog.settings")

import django  # noqa: E402

django.setup()

import rispy  # noqa: E402
from Bio import Medline  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from studies.exports import CSV_COLUMNS  # noqa: E402
from studies.formats import parse_entries  # noqa: E402
from studies.importers import import_bibtex, preview_bibtex  # noqa: E402
from studies.models import Study  # noqa: E402

WORDS = ["low", "dose", "naltrexone", "fibromyalgia", "pain", "crohn", "disease", "trial"]
NAMES = ["Müller", "Østergaard", "Nguyễn", "Smith", "García-López", "Çelik", "O'Brien", "Kim"]


def _record(rng, n):
    title = " ".join(rng.choices(WORDS, k=9)).capitalize() + f" {n}"
    authors = [
        f"{rng.choice(NAMES) if n % 10 == 0 else 'Author'}{rng.randrange(999)}" for _ in range(4)
    ]
    return {
        "n": n,
        "title": title,
        "authors": authors,
        "journal": f"Journal of Studies {n % 50}",
        "year": 1990 + n % 35,
        "volume": str(n % 40),
        "issue": str(n % 12),
        "pages": f"{n % 300}-{n % 300 + 9}",
        "doi": f"10.5555/bench.{n}",
        "pmid": str(30000000 + n),
    }


def ris_file(records):
    out = []
    for r in records:
        out.append("TY  - JOUR\n")
        out.append(f"TI  - {r['title']}\n")
        out.extend(f"AU  - {a}, A.\n" for a in r["authors"])
        out.append(
            f"T2  - {r['journal']}\nPY  - {r['year']}\nVL  - {r['volume']}\n"
            f"IS  - {r['issue']}\nSP  - {r['pages']}\nDO  - {r['doi']}\n"
            f"AN  - {r['pmid']}\nKW  - Fibromyalgia\nER  - \n\n"
        )
    return "".join(out)


def medline_file(records):
    out = []
    for r in records:
        out.append(f"PMID- {r['pmid']}\nOWN - NLM\nSTAT- MEDLINE\nVI  - {r['volume']}\n")
        out.append(f"IP  - {r['issue']}\nDP  - {r['year']} Mar\nTI  - {r['title']}\n")
        out.append(f"PG  - {r['pages']}\nLID - {r['doi']} [doi]\n")
        out.extend(f"FAU - {a}, Anna\nAU  - {a} A\n" for a in r["authors"])
        out.append("PT  - Journal Article\nPT  - Randomized Controlled Trial\n")
        out.append(f"JT  - {r['journal']}\nMH  - *Fibromyalgia/drug therapy\nMH  - Humans\n")
        out.append(f"AID - {r['doi']} [doi]\nSO  - {r['journal']}. {r['year']}.\n\n")
    return "".join(out)


def csljson_file(records):
    items = [
        {
            "id": f"item{r['n']}",
            "type": "article-journal",
            "title": r["title"],
            "author": [{"family": a, "given": "A."} for a in r["authors"]],
            "container-title": r["journal"],
            "issued": {"date-parts": [[r["year"]]]},
            "volume": r["volume"],
            "issue": r["issue"],
            "page": r["pages"],
            "DOI": r["doi"],
            "PMID": r["pmid"],
        }
        for r in records
    ]
    return json.dumps(items, ensure_ascii=False, indent=1)


def ctgov_file(records):
    studies = [
        {
            "protocolSection": {
                "identificationModule": {"nctId": f"NCT{r['n']:08d}", "briefTitle": r["title"]},
                "statusModule": {
                    "statusVerifiedDate": "2024-05",
                    "overallStatus": "RECRUITING" if r["n"] % 3 else "COMPLETED",
                    "startDateStruct": {"date": f"{r['year']}-03"},
                    "completionDateStruct": {"date": "2026-12", "type": "ESTIMATED"},
                },
                "conditionsModule": {"conditions": ["Fibromyalgia"]},
                "designModule": {"enrollmentInfo": {"count": 60 + r["n"] % 100}},
                "armsInterventionsModule": {
                    "interventions": [
                        {"name": "Low-dose naltrexone", "description": "4.5 mg daily"}
                    ]
                },
            },
            "hasResults": False,
        }
        for r in records
    ]
    return json.dumps({"studies": studies}, ensure_ascii=False, indent=1)


def catalog_json_file(records):
    return json.dumps(
        [
            {
                "slug": f"study-{r['n']}",
                "title": r["title"],
                "year": r["year"],
                "authors": r["authors"],
                "journal": r["journal"],
                "volume": r["volume"],
                "issue": r["issue"],
                "pages": r["pages"],
                "doi": r["doi"],
                "pmid": r["pmid"],
                "design": "rct",
                "evidence_level": 2,
                "status": "published",
                "conditions": ["Fibromyalgia"],
                "sample_size": 40,
                "dose": "4.5 mg",
                "outcomes": [],
            }
            for r in records
        ],
        ensure_ascii=False,
    )


def csv_file(records):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for r in records:
        writer.writerow(
            {
                "slug": f"study-{r['n']}",
                "title": r["title"],
                "year": r["year"],
                "authors": "; ".join(r["authors"]),
                "journal": r["journal"],
                "volume": r["volume"],
                "issue": r["issue"],
                "pages": r["pages"],
                "doi": r["doi"],
                "pmid": r["pmid"],
                "design": "rct",
                "evidence_level": 2,
                "status": "published",
                "conditions": "Fibromyalgia",
                "sample_size": 40,
                "dose": "4.5 mg",
            }
        )
    return buffer.getvalue()


FORMATS = {
    "ris": (ris_file, rispy.loads),
    "medline": (medline_file, lambda text: list(Medline.parse(io.StringIO(text)))),
    "csljson": (csljson_file, json.loads),
    "ctgov": (ctgov_file, json.loads),
    "json": (catalog_json_file, json.loads),
    "csv": (csv_file, lambda text: list(csv.DictReader(io.StringIO(text)))),
}


def timed(function, repeat=1, reset=None):
    """The best of ``repeat`` runs (the least disturbed by other work on the machine)."""
    best = None
    for _ in range(repeat):
        if reset:
            reset()
        start = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def empty_catalog():
    """Every study, link and history row gone, by plain SQL (deleting 10,000 studies through
    the ORM, which records each deletion in history, took longer than importing them)."""
    tables = [
        Study.history.model.conditions.model,
        Study.conditions.through,
        Study.history.model,
        Study,
    ]
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS))
    arguments = parser.parse_args()
    count, repeat = arguments.records, arguments.repeat
    logging.disable(logging.WARNING)
    call_command("migrate", verbosity=0)
    from studies.models import Condition

    Condition.objects.create(name="Fibromyalgia", slug="fibromyalgia", category="pain")
    rng = random.Random(1)
    records = [_record(rng, n) for n in range(count)]
    print(f"{count:,} records a file; best of {repeat} runs; seconds (ratio to bare parse)")
    print(
        f"{'format':9} {'MB':>5} {'bare':>6} {'parse':>13} {'preview':>13} {'import':>13} "
        f"{'re-import':>13}"
    )
    for name in arguments.formats.split(","):
        write, bare_parse = FORMATS[name]
        text = write(records)
        bare, _ = timed(lambda: bare_parse(text), repeat)  # noqa: B023
        ours, entries = timed(lambda: parse_entries(text, name), repeat)  # noqa: B023
        assert len(entries) == count and all(e.ok for e in entries), name
        empty_catalog()
        preview, _ = timed(lambda: preview_bibtex(text, "bench", format=name), repeat)  # noqa: B023
        full, report = timed(
            lambda: import_bibtex(text, "bench", format=name),  # noqa: B023
            repeat,
            empty_catalog,
        )
        assert len(report.created) == count == Study.objects.count()
        assert Study.history.filter(history_type="+").count() == count
        again, report = timed(lambda: import_bibtex(text, "bench", format=name), repeat)  # noqa: B023
        assert len(report.duplicates) == count and not report.created
        assert not any(row.differences for row in report.rows), name
        empty_catalog()

        def cell(seconds):
            return f"{seconds:6.2f} ({seconds / bare:4.1f}x)"  # noqa: B023

        print(
            f"{name:9} {len(text) / 1e6:5.1f} {bare:6.2f} {cell(ours)} {cell(preview)} "
            f"{cell(full)} {cell(again)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
