"""Reading ClinicalTrials.gov's study JSON (API v2): one study, or a ``studies`` list as the
site's download gives it.

Each study becomes a registered trial: its NCT id as the registry id (in the
``Trial registration:`` note the importer reads), the brief title, the overall status with
the catalog's status it maps to (vocabulary.REGISTRY_STATUSES), the date the registry last
verified that status, the start year, the (expected or actual) completion date, the
enrollment (the sample size once it is actual), conditions, interventions with their doses
where stated, whether results are posted, and the PMID of a paper reporting them.
"""

import re

from .bibtex import ParsedEntry
from .identifiers import PMID_RE
from .jsontext import WrongShape, describe, file_error, list_of, load_records, text_of
from .vocabulary import REGISTRY_STATUSES, Design, RegistryStatus, Status

AMOUNT = r"\d+(?:[.,]\d+)?"
# A dose as a trial states it: “4.5 mg daily”, a range (“1.5-4.5 mg”, “0.5 to 4.5 mg”), a
# dose by body weight (“0.1 mg/kg”), each whole.
DOSE = re.compile(
    rf"\b{AMOUNT}(?:\s*(?:-|–|to)\s*{AMOUNT})?\s*(?:mg|milligrams?|mcg|µg|micrograms?)\b"
    r"(?:\s*/\s*kg\b)?(?:\s*(?:/|per)\s*day|\s+daily)?",
    re.IGNORECASE,
)
YEAR = re.compile(r"^(\d{4})")
NCT_ID = re.compile(r"NCT\d{8}")
# The overall statuses of an expanded-access record: a treatment offered outside a trial,
# not a study the catalog holds (the registry's other statuses are RegistryStatus).
EXPANDED_ACCESS_STATUSES = {
    "AVAILABLE",
    "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE",
    "APPROVED_FOR_MARKETING",
}


def _get(data, *path):
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _doses(interventions):
    """“Low-dose naltrexone: 4.5 mg daily” for each intervention whose dose is stated."""
    stated = []
    for intervention in list_of(interventions):
        name = text_of(_get(intervention, "name"))
        text = f"{name} {text_of(_get(intervention, 'description'))}"
        doses = list(dict.fromkeys(m.group(0) for m in DOSE.finditer(text)))
        if doses:
            stated.append(f"{name}: {', '.join(doses)}")
    return "; ".join(stated)


def _results_pmid(references):
    """The PMID of the first paper the registry lists as reporting the trial's results (a
    ``RESULT`` reference; a ``BACKGROUND`` one is another study, a ``DERIVED`` one any paper
    PubMed links to the trial, a protocol or a secondary analysis as well)."""
    for reference in list_of(references):
        pmid = text_of(_get(reference, "pmid"))
        if _get(reference, "type") == "RESULT" and PMID_RE.match(pmid):
            return pmid
    return ""


def _fields(study, parsed):
    protocol = study.get("protocolSection") or {}
    identification = _get(protocol, "identificationModule")
    status_module = _get(protocol, "statusModule")  # each module looked up once
    nct_id = text_of(_get(identification, "nctId"))
    status = text_of(_get(status_module, "overallStatus"))
    start = text_of(_get(status_module, "startDateStruct", "date"))
    first_posted = text_of(_get(status_module, "studyFirstSubmitDate"))
    year = YEAR.match(start) or YEAR.match(first_posted)
    enrollment = _get(protocol, "designModule", "enrollmentInfo")
    count = text_of(_get(enrollment, "count"))
    # An estimated enrollment is the trial's target, not a sample size (records.py tells
    # the curator so); an actual one is.
    estimated = _get(enrollment, "type") == "ESTIMATED"
    has_results = study.get("hasResults")
    fields = {
        "title": text_of(_get(identification, "briefTitle")),
        "note": f"Trial registration: {nct_id}" if nct_id else "",
        # The catalog holds a trial and its paper as one study: a paper it holds already
        # makes the trial its duplicate.
        "pmid": _results_pmid(_get(protocol, "referencesModule", "references")),
        "url": f"https://clinicaltrials.gov/study/{nct_id}" if NCT_ID.fullmatch(nct_id) else "",
        "year": year.group(1) if year else "",
        "design": Design.REGISTERED_TRIAL.value,
        "sample_size": "" if estimated else count,
        "estimated_enrollment": count if estimated else "",
        "keywords": list(map(text_of, list_of(_get(protocol, "conditionsModule", "conditions")))),
        "dose": _doses(_get(protocol, "armsInterventionsModule", "interventions")),
        "registry_status": status,
        "registry_checked": text_of(_get(status_module, "statusVerifiedDate")),
        "expected_completion": text_of(_get(status_module, "completionDateStruct", "date")),
        # A record without it (a download of chosen fields) says nothing of results.
        "results_posted": text_of(has_results) if isinstance(has_results, bool) else "",
    }
    if not isinstance(has_results, bool | None):
        parsed.errors.append(f"“hasResults” is {describe(has_results)}, not true or false")
    if not nct_id:
        parsed.errors.append("no NCT id (protocolSection.identificationModule.nctId)")
    if status in RegistryStatus:
        fields["status"] = REGISTRY_STATUSES[RegistryStatus(status)].value
        # A trial that is over, with a paper of its results, is published.
        if fields["pmid"] and fields["status"] in (Status.COMPLETED, Status.STOPPED):
            fields["status"] = Status.PUBLISHED.value
    elif status in EXPANDED_ACCESS_STATUSES:
        parsed.errors.append(
            f"an expanded-access record (overall status “{status}”), not a trial: "
            "the catalog holds studies and trials, not access to a treatment outside them"
        )
    else:
        parsed.errors.append(
            f"the overall status “{status[:40]}” is not one the catalog knows"
            if status
            else "no overall status (protocolSection.statusModule.overallStatus)"
        )
    return {name: value for name, value in fields.items() if value}


def parse_entries(text):
    """Every study of a ClinicalTrials.gov JSON text as a ParsedEntry, in file order."""
    try:
        records = load_records(text, list_key="studies")
    except ValueError as error:
        return file_error(*error.args)
    entries = []
    for number, (line, study) in enumerate(records, start=1):
        if not isinstance(study, dict) or not isinstance(study.get("protocolSection"), dict):
            message = (
                "not a ClinicalTrials.gov study: a study has a “protocolSection” object; "
                f"this is {describe(study)}"
            )
            if len(records) == 1:
                return file_error(message)
            entries.append(ParsedEntry(f"study {number}", line, errors=[message]))
            continue
        try:
            nct_id = text_of(_get(study, "protocolSection", "identificationModule", "nctId"))
            parsed = ParsedEntry(nct_id or f"study {number}", line, "registered trial")
            fields = _fields(study, parsed)
        except WrongShape as error:
            entries.append(ParsedEntry(f"study {number}", line, errors=[f"a value is {error}"]))
            continue
        parsed.add_fields(fields)
        entries.append(parsed)
    return entries
