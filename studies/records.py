"""The fields of an imported record beyond BibTeX's, and what a duplicate would change.

BibTeX gives a title, authors, a journal and identifiers; the other formats give more: a
catalog export its design, status, sample size, dose and the rest; a MEDLINE record its
publication types (a design, stated or inferred); a ClinicalTrials.gov record the trial's
registry status. ``read_fields`` reads them into the unsaved study (the importer matches
keywords and MeSH headings to conditions); ``compare_duplicates`` lists, for each
duplicate of a catalog study, the fields whose values differ (none, for a re-imported
export) and the newer registry status the curator may accept; ``apply_updates`` writes the
accepted ones.
"""

import re
from decimal import Decimal, InvalidOperation

from .duplicates import IDENTIFIER_LABELS
from .models import Condition, Study
from .vocabulary import Design, DesignBasis, RegistryStatus, Status, is_registry_date

TEXT_FIELDS = ("population", "dose", "duration", "comparator", "adverse_events", "summary")
YES_NO = {"yes": True, "no": False}
DASHES = re.compile("[\u2010-\u2015-]+")  # a page range's dash: "451-459", "451–459", "451--459"
# A record's field (as the parsers name it) and the study attribute it sets.
ATTRIBUTES = {
    "title": "title",
    "author": "authors",
    "journal": "journal",
    "year": "year",
    "volume": "volume",
    "number": "issue",
    "pages": "pages",
    "doi": "doi",
    "pmid": "pmid",
    "pmcid": "pmcid",
    "note": "registry_id",
    "url": "url",
    "design": "design",
    "keywords": "conditions",
    "status": "status",
    "sample_size": "sample_size",
    "dose_min_mg": "dose_min_mg",
    "dose_max_mg": "dose_max_mg",
    "registry_status": "registry_status",
    "registry_checked": "registry_checked",
    "expected_completion": "expected_completion",
    "results_posted": "results_posted",
    "design_basis": "design_basis",
    "design_quote": "design_quote",
    "descriptive_title": "descriptive_title",
    **{name: name for name in TEXT_FIELDS},
}


def _read_text(row, study, name, value):
    limit = Study._meta.get_field(name).max_length
    if limit and len(value) > limit:
        row.reasons.append(f"the {name.replace('_', ' ')} is longer than {limit} characters")
    else:
        setattr(study, name, value)


def _read_dose(row, study, name, value):
    try:
        dose = Decimal(value)
    except InvalidOperation:
        row.reasons.append(f"the {name} “{value[:40]}” is not a number")
        return
    if not dose.is_finite() or not 0 <= dose < 10_000:
        row.reasons.append(f"the {name} “{value[:40]}” is not a dose in mg")
    else:
        setattr(study, name, dose)


def read_fields(row, study):
    """Set ``study``'s fields from the record's fields beyond BibTeX's."""
    fields = row.entry.fields
    if fields.get("status"):
        if fields["status"] in Status:
            study.status = fields["status"]
        else:
            row.reasons.append(f"the status “{fields['status'][:40]}” is not one of the catalog's")
    if fields.get("sample_size"):
        if fields["sample_size"].isdigit() and len(fields["sample_size"]) <= 9:
            study.sample_size = int(fields["sample_size"])
        else:
            row.reasons.append(f"the sample size “{fields['sample_size'][:40]}” is not a number")
    for name in TEXT_FIELDS:
        if fields.get(name):
            _read_text(row, study, name, fields[name])
    for name in ("dose_min_mg", "dose_max_mg"):
        if fields.get(name):
            _read_dose(row, study, name, fields[name])
    if fields.get("registry_status"):
        if fields["registry_status"] in RegistryStatus:
            study.registry_status = fields["registry_status"]
        else:
            row.reasons.append(f"the registry status “{fields['registry_status'][:40]}” is unknown")
    for name in ("registry_checked", "expected_completion"):
        if fields.get(name):
            if is_registry_date(fields[name]):
                setattr(study, name, fields[name])
            else:
                row.reasons.append(
                    f"the {name.replace('_', ' ')} “{fields[name][:40]}” is not a date"
                )
    for name in ("results_posted", "descriptive_title"):
        if fields.get(name) in YES_NO:
            setattr(study, name, YES_NO[fields[name]])
        elif fields.get(name):
            row.reasons.append(
                f"the {name.replace('_', ' ')} “{fields[name][:40]}” is neither yes nor no"
            )

    _read_design_basis(row, study, fields)
    if fields.get("estimated_enrollment"):  # ClinicalTrials.gov
        row.warnings.append(
            f"the registry's enrollment, {fields['estimated_enrollment'][:40]}, is an estimate "
            "(the trial's target): not taken as its sample size"
        )
    if fields.get("retracted"):
        row.warnings.append(f"retracted: {fields['retracted'][:200]}")
    # What a reader met in the record and could not keep (ris.py): the curator is told.
    row.warnings.extend(fields.get("unread", []))


def _read_design_basis(row, study, fields):
    """Whether a document states the design or it is inferred, and from what quote: as the
    curation rules hold a design (docs/curation.md)."""
    basis = fields.get("design_basis")
    if not basis:
        # A quote with no basis (a CSV made elsewhere): the study's, its design stated.
        study.design_quote = fields.get("design_quote", "")
        return
    if basis not in DesignBasis:
        row.reasons.append(f"the design basis “{basis[:40]}” is neither stated nor inferred")
        return
    study.design_basis = basis
    if "design_evidence" in fields:  # MEDLINE: the record's publication type
        if basis == DesignBasis.INFERRED:
            study.design_quote = f"Publication type: {fields['design_evidence']}"
            row.warnings.append(
                f"design “{Design(study.design).label}” inferred from the publication type "
                f"“{fields['design_evidence']}”: check it against the paper"
            )
    elif fields.get("design_quote"):  # the catalog's JSON and CSV exports
        study.design_quote = fields["design_quote"]
    elif basis == DesignBasis.INFERRED:  # a file with no quote column (a CSV made elsewhere)
        row.warnings.append(
            f"design “{Design(study.design).label}” inferred, but the file gives no quote it "
            "is inferred from: add it"
        )


def _value(study, attribute, condition_ids=None):
    if attribute == "conditions":
        return sorted(condition_ids if condition_ids is not None else [])
    return getattr(study, attribute)


def compare_duplicates(report):
    """Fill ``differences`` and ``update`` of each row that duplicates a catalog study."""
    rows = [row for row in report.rows if row.existing is not None]
    if not rows:
        return
    through = Study.conditions.through
    existing = Study.objects.in_bulk({row.existing.pk for row in rows})
    condition_ids = {}
    pairs = through.objects.filter(study__in=existing).values_list("study_id", "condition_id")
    for study_id, condition_id in pairs:
        condition_ids.setdefault(study_id, []).append(condition_id)
    names = {}
    for row in rows:
        catalog = existing[row.existing.pk]
        for name in row.entry.fields:
            attribute = ATTRIBUTES.get(name)
            if attribute is None:
                continue
            old = _value(catalog, attribute, condition_ids.get(catalog.pk, []))
            new = _value(row.study, attribute, row.condition_ids)
            if old != new and not _same_in_print(attribute, old, new):
                if attribute == "conditions":  # compared by id, shown by name
                    names = names or dict(Condition.objects.values_list("pk", "name"))
                    old, new = sorted(names[pk] for pk in old), sorted(names[pk] for pk in new)
                row.differences.append((attribute, old, new))
        if row.matched_by.startswith(IDENTIFIER_LABELS["registry_id"]):
            _offer_update(row, catalog)
    _one_update_per_trial(rows)


def _offer_update(row, catalog):
    """The registry fields of a trial the file gives anew, as an update the curator may
    accept: not from a record checked before the catalog's, which would take the trial
    back to an earlier status, nor from one that gives no date when the catalog's has one
    (it may be older, and its status would stand beside the catalog's date)."""
    checked, known = row.study.registry_checked, catalog.registry_checked
    if _before(checked, known) or (known and not checked):
        if any(attribute in Study.REGISTRY_FIELDS for attribute, _, _ in row.differences):
            row.warnings.append(
                f"the registry record in the file was checked {checked}, before the "
                f"catalog's ({known}): not offered as an update"
                if checked
                else f"the registry record in the file gives no date it was checked, the "
                f"catalog's was checked {known}: not offered as an update"
            )
        return
    row.update = {
        attribute: new
        for attribute, _, new in row.differences
        if attribute in Study.REGISTRY_FIELDS
        # A trial the catalog holds as published keeps that status.
        and not (attribute == "status" and catalog.status == Status.PUBLISHED)
    }
    if row.update:
        row.existing = catalog


def _before(date, other):
    """Whether registry date ``date`` is before ``other``, to the precision both give
    ("2025-02" is neither before nor after "2025-02-15")."""
    if not date or not other:
        return False
    length = min(len(date), len(other))
    return date[:length] < other[:length]


def _one_update_per_trial(rows):
    """A trial the file gives twice is offered one update, its latest check's (the first
    in the file of equal ones): two would each find the study changed by the other."""
    offered = {}
    for row in rows:
        kept = offered.get(row.existing.pk)
        if row.update and (
            kept is None or _before(kept.study.registry_checked, row.study.registry_checked)
        ):
            offered[row.existing.pk] = row
    for row in rows:
        kept = offered.get(row.existing.pk)
        if row.update and kept is not row:
            row.update = {}
            row.warnings.append(
                f"the same trial as the entry at line {kept.entry.line}, whose update is offered"
            )


def _same_in_print(attribute, old, new):
    """No difference a reader would see: the full stop PubMed ends every title with (the
    catalog's titles have none), a hyphen or an en dash between two pages, a run of spaces,
    tabs or line breaks for one space, in a name too (TeX reads them as one, and RIS and
    MEDLINE hold a field on one line, so the catalog's BibTeX and RIS exports write them
    as one)."""
    if attribute == "pages":
        old, new = old or "", new or ""
    if attribute == "authors":
        return [" ".join(name.split()) for name in old] == [" ".join(name.split()) for name in new]
    if not isinstance(old, str) or not isinstance(new, str):
        return False
    old, new = " ".join(old.split()), " ".join(new.split())
    if attribute == "title":
        return old.removesuffix(".") == new.removesuffix(".")
    if attribute == "pages":
        return DASHES.sub("-", old) == DASHES.sub("-", new)
    return old == new


def apply_updates(report, positions, user, reason):
    """Write the accepted registry updates (rows at ``positions``, or "all"); return
    those studies. ``Study.apply_registry_update`` saves each, with its history record.

    ``positions`` may map each position to the study's version the curator saw: a study
    changed since raises EditConflict (the caller's transaction then writes nothing)."""
    if positions == "all":
        positions = range(len(report.rows))
    versions = positions if isinstance(positions, dict) else {}
    updated = []
    for position in sorted(set(positions)):
        if not 0 <= position < len(report.rows):
            continue
        row = report.rows[position]
        if row.update:
            row.existing.apply_registry_update(
                row.update, user=user, reason=reason, expected_version=versions.get(position)
            )
            updated.append(row.existing)
    return updated
