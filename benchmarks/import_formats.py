"""How long a 10,000-record import takes in each format, against that format's bare parse
and against the database's own cost of the same writes.

    .venv/bin/python benchmarks/import_formats.py [--records 10000] [--repeat 3] \
        [--formats ris,medline,...]

Runs on a fresh in-memory SQLite database and prints, in CPU seconds of this process
(time.process_time: the database is in-process, so this is all the work, and other jobs
on the machine disturb it less than wall-clock time), the median of --repeat runs of, for
each format:

- bare: the library's own parse of the whole file and nothing else: ``rispy.loads`` for
  RIS, ``list(Bio.Medline.parse(...))`` for MEDLINE, ``json.loads`` for CSL JSON,
  ClinicalTrials.gov JSON and the catalog's JSON, ``list(csv.reader(...))`` for the
  catalog's CSV (the reader the importer uses);
- parse: the catalog's parse (records cut apart with their line numbers, damage checks);
- preview: parse, validate, find duplicates (what the curator sees, nothing written);
- import: the preview and creating every study with its history record;
- floor: the same rows the import wrote (studies, history records, condition links and
  their history), written again into the same tables by one executemany a table in one
  transaction (benchmarks/insert_floor.py): what the database costs, triggers included;
- re-import: the same file again, all duplicates, each compared field by field with the
  catalog's study.

Ratios are to the bare parse, and the import's also to the floor and to bare + floor (the
least any importer of that file must spend: read it, write its rows).

The files are synthetic, one record in ten holding non-ASCII names, every record with a
DOI and a PMID (an NCT id for trials), so that duplicate detection has work to do. Each
title ends with its record's number, so the title index (duplicates.TitleIndex), which
compares a title only with titles holding the same numbers, has no near-identical
candidates to score: see benchmarks/README.md for its cost when titles hold no numbers.

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

from benchmarks.import_bibtex import timed  # noqa: E402
from benchmarks.insert_floor import empty_catalog, insert_floor, written_rows  # noqa: E402
from studies.exports import CSV_COLUMNS  # noqa: E402
from studies.formats import parse_entries  # noqa: E402
from studies.importers import import_bibtex  # noqa: E402
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
    "csv": (csv_file, lambda text: list(csv.reader(io.StringIO(text)))),
}


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
    print(
        f"{count:,} records a file; median of {repeat} runs; CPU seconds "
        "(ratio to the bare parse; the import's also to the floor and to bare + floor)"
    )
    print(
        f"{'format':9} {'MB':>4} {'bare':>5} {'parse':>12} {'preview':>12} "
        f"{'import':>12} {'floor':>5} {'÷floor':>6} {'÷b+f':>5} {'re-import':>12}"
    )
    for name in arguments.formats.split(","):
        write, bare_parse = FORMATS[name]
        text = write(records)
        bare = timed(lambda: bare_parse(text), repeat)[0]  # noqa: B023
        ours, entries = timed(lambda: parse_entries(text, name), repeat)  # noqa: B023
        assert len(entries) == count and all(e.ok for e in entries), name
        entries = None
        empty_catalog()
        preview = timed(lambda: import_bibtex(text, "bench", dry_run=True, format=name), repeat)[0]  # noqa: B023
        full, report = timed(
            lambda: import_bibtex(text, "bench", format=name),  # noqa: B023
            repeat,
            empty_catalog,
        )
        assert len(report.created) == count == Study.objects.count()
        assert Study.history.filter(history_type="+").count() == count
        report = None
        tables = written_rows()
        floor = timed(lambda: insert_floor(tables), repeat, empty_catalog)[0]  # noqa: B023
        assert written_rows() == tables
        again, report = timed(lambda: import_bibtex(text, "bench", format=name), repeat)  # noqa: B023
        assert len(report.duplicates) == count and not report.created
        assert not any(row.differences for row in report.rows), name
        empty_catalog()

        def cell(seconds):
            return f"{seconds:5.2f} ({seconds / bare:4.1f}x)"  # noqa: B023

        print(
            f"{name:9} {len(text) / 1e6:4.1f} {bare:5.2f} {cell(ours)} {cell(preview)} "
            f"{cell(full)} {floor:5.2f} {full / floor:5.1f}x {full / (bare + floor):4.1f}x "
            f"{cell(again)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
