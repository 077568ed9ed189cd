"""Round trips of the catalog's downloads, over generated studies: each export (BibTeX,
RIS, CSV, JSON) re-imports as duplicates of its own studies with no differences, and the
JSON and CSV exports, which carry every catalog field, rebuild the same studies in an
empty catalog (issue 13, item 4; tests/test_import_formats.py has hand-made cases).

The studies' text is drawn from what breaks writers: LaTeX specials and unbalanced braces,
" and " in a corporate author, commas and semicolons in names, suffixes and particles,
non-Latin scripts, combining accents, emoji, spreadsheet formula prefixes, tabs and
newlines, trailing full stops, values at their field's length limit, DOIs with ; ( ) < > %.
FUZZ_EXAMPLES sets the examples per format: 10 by default, 60 in CI (.ci/run).
"""

import os
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from studies import exports, limits
from studies.duplicates import TitleIndex
from studies.exports import FORMULA_PREFIXES
from studies.importers import DUPLICATE, KEYWORD_SEPARATOR, import_bibtex
from studies.models import Condition, Study
from studies.vocabulary import Design, RegistryStatus, Status
from tests.factories import make_condition, make_study

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))

# Pieces a text field is built from: each a way a writer or a reader has gone wrong.
PIECES = [
    "{",
    "}",
    "{\\em x}",
    "\\",
    "\\textbf{",
    "$x^2$",
    "50%",
    "R&D",
    "#1",
    "a_b",
    "x^y",
    "~",
    '"quoted"',
    " and ",
    ", ",
    "; ",
    ";",
    "Jr.",
    "III",
    "van der",
    "de la",
    "Ålesund",
    "Müller",
    "Nguyễn",
    "e\u0301",  # e and a combining acute accent
    "Ωμέγα",
    "Иванов",
    "李小龍",
    "عربي",
    "😀",
    "👩‍⚕️",
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\n",
    ".",
    "–",
    "—",
    "“pilot”",
    "'",
    "<b>",
    "ER  - ",
    "TY  - JOUR",
    "@article{",
    "\r\n",
]


# Any character but the control characters every reader refuses as binary data, and U+FFFD
# (a limit of the catalog's imports, docs/importing.md); tabs, newlines and the other line
# separators (\x85, \u2028) are kept.
CHARACTERS = st.characters(
    exclude_categories=["Cs"],  # lone surrogates: not text a database or UTF-8 holds
    exclude_characters=[c for c in map(chr, range(32)) if c not in "\t\n\r"]
    + ["\x7f"]
    # The replacement character, which every reader takes for the mark of text decoded
    # wrongly (binary data), as the control characters.
    + ["\ufffd"],
)


def _text(max_size, min_size=0):
    """Adversarial text: pieces and arbitrary characters, or a value at the limit."""
    mixed = st.lists(
        st.one_of(st.sampled_from(PIECES), st.text(CHARACTERS, min_size=1, max_size=5)),
        max_size=8,
    ).map("".join)
    at_limit = st.sampled_from(PIECES).map(lambda piece: (piece + "x") * max_size)
    return (
        st.one_of(mixed, at_limit)
        .map(lambda text: text[:max_size])
        .filter(lambda text: len(text) >= min_size)
    )


def _char_field(name):
    return _text(Study._meta.get_field(name).max_length)


def _clean(text):
    """What the catalog holds in a text field: the forms and the importer strip, and a
    value is never blank-but-not-empty."""
    text = text.strip()
    # A limit of CSV: the export writes a value a spreadsheet would run as a formula with
    # a "'" before it, and the reader takes that "'" off again, so a value that itself
    # begins with "'=" cannot be told from an escaped "=" (docs/importing.md).
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        text = "x" + text
    return text


def _one_keyword(name):
    """A limit of the keyword lists conditions travel in (BibTeX's, RIS's and CSV's): their
    separators are commas and semicolons, and a name is found again only when its parts
    are joined by ", ", as the catalog's names are (“Arthritis, Rheumatoid”), and spaced
    by one space (RIS holds a keyword on one line)."""
    parts = [part for part in KEYWORD_SEPARATOR.split(name) if part]
    return bool(name) and ", ".join(parts) == name == " ".join(name.split())


names = (
    st.one_of(
        _text(limits.AUTHOR_MAX, min_size=1),
        st.sampled_from(
            [
                "King, Jr., Martin L.",
                "van der Berg, III, J",
                "de la Cruz, María",
                "Pain Research and Development Group",
                "Smith and Sons, Ltd.",
                "{Unbalanced",
                "Closing}",
                "Ng, W.",
                "Иванов, И. И.",
                "李, 小龍",
                "=cmd|' /C calc'!A0",
            ]
        ),
    )
    .map(_clean)
    .filter(bool)
)

condition_names = (
    st.one_of(
        _text(Condition._meta.get_field("name").max_length, min_size=1),
        st.sampled_from(["Arthritis, Rheumatoid", "Pain; chronic", "Crohn's disease"]),
    )
    .map(_clean)
    .filter(_one_keyword)
)

DOI_CHARACTERS = st.sampled_from(list("abcxyz0123456789;()<>%-._/:[]#"))
dois = st.builds(
    # A DOI's trailing punctuation is taken for the sentence's, as a reader would.
    lambda registrant, suffix, last: f"10.{registrant}/{suffix}{last}",
    st.integers(1000, 99999),
    st.text(DOI_CHARACTERS, max_size=60),
    st.sampled_from("az09"),
)
years = st.one_of(
    st.none(), st.sampled_from([1900, 1901, 1999, 2099, 2100]), st.integers(1900, 2100)
)
doses = st.decimals(min_value=0, max_value=Decimal("9999.99"), places=2)


@st.composite
def study_fields(draw):
    fields = {
        "title": draw(_text(limits.TITLE_MAX, min_size=1).map(_clean).filter(bool)),
        "year": draw(years),
        "authors": draw(st.lists(names, max_size=4)),
        "design": draw(st.sampled_from(Design.values)),
        "status": draw(st.sampled_from(Status.values)),
        # The importers read a sample size of at most 9 digits.
        "sample_size": draw(st.one_of(st.none(), st.integers(0, 999_999_999))),
        "doi": draw(st.one_of(st.none(), dois)),
        "pmid": draw(st.one_of(st.none(), st.integers(1, 10**9 - 1).map(str))),
        "pmcid": draw(st.one_of(st.none(), st.integers(1, 10**9 - 1).map("PMC{}".format))),
        "registry_id": draw(
            st.one_of(st.none(), st.integers(0, 10**8 - 1).map("NCT{:08d}".format))
        ),
        "url": draw(st.sampled_from(["", "https://example.org/a?b=c&d=%20;e", "http://x.test/"])),
        "pages": draw(
            st.one_of(
                _char_field("pages").map(_clean),
                st.sampled_from(["451–459", "451-459", "e1234", "S12–S20", "1–2; 5"]),
            )
        ),
    }
    for name in ("journal", "volume", "issue", "dose", "duration", "comparator"):
        fields[name] = draw(_char_field(name).map(_clean))
    for name in ("population", "adverse_events"):
        fields[name] = draw(_text(limits.LONG_TEXT_MAX).map(_clean))
    fields["summary"] = draw(_text(limits.SUMMARY_MAX).map(_clean))
    low, high = draw(st.one_of(st.none(), doses)), draw(st.one_of(st.none(), doses))
    if low is not None and high is not None and low > high:
        low, high = high, low
    fields["dose_min_mg"], fields["dose_max_mg"] = low, high
    if draw(st.booleans()):
        fields["design_basis"] = "inferred"
        fields["design_quote"] = draw(
            _text(limits.LONG_TEXT_MAX, min_size=1).map(_clean).filter(bool)
        )
    fields["descriptive_title"] = draw(st.booleans())
    if draw(st.booleans()):
        fields["registry_status"] = draw(st.sampled_from(RegistryStatus.values))
        fields["registry_checked"] = draw(st.sampled_from(["2025-02", "2025-02-28", "1999-12-31"]))
        fields["expected_completion"] = draw(st.sampled_from(["", "2026-12", "2100-01-01"]))
        fields["results_posted"] = draw(st.sampled_from([None, True, False]))
    return fields


def _distinct_titles(studies):
    """Studies the catalog would itself take for one (the same or a near-identical title
    in the same year) are not a round trip's question: the importer rightly matches either."""
    index = TitleIndex()
    return all(index.find_or_add(s["title"], s["year"], i) is None for i, s in enumerate(studies))


catalogs = st.tuples(
    st.lists(condition_names, max_size=3, unique_by=str.casefold),
    st.lists(study_fields(), min_size=1, max_size=3).filter(_distinct_titles),
)

SETTINGS = hypothesis_settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,  # the same examples on every run, not also those failed before
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The study's own fields an import into an empty catalog must give back.
COMPARED = [
    field.attname
    for field in Study._meta.concrete_fields
    if field.attname not in {"id", "slug", "version", "created_at", "updated_at"}
]


def _export(format):
    return "".join(exports.FORMATS[format].stream(Study.objects.order_by("slug")))


def _build(catalog):
    names, studies = catalog
    conditions = [make_condition(name=name, slug=f"c-{i}") for i, name in enumerate(names)]
    for i, fields in enumerate(studies):
        # Identifiers must be unique in the catalog: drop a repeated one.
        for name in ("doi", "pmid", "pmcid", "registry_id"):
            if fields[name] and Study.objects.filter(**{name: fields[name]}).exists():
                fields = {**fields, name: None}
        make_study(conditions=conditions[i % 2 :: 2] if conditions else (), **fields)


def _state():
    return {
        study.pk: (
            {name: getattr(study, name) for name in COMPARED},
            sorted(study.conditions.values_list("name", flat=True)),
        )
        for study in Study.objects.all()
    }


class RoundTripProperties(TestCase):
    def _duplicates_only(self, catalog, format):
        if format == "csv":
            # A limit of CSV: a cell holds the authors joined by "; " (docs/importing.md).
            assume(all("; " not in name for fields in catalog[1] for name in fields["authors"]))
        _build(catalog)
        text = _export(format)
        count = Study.objects.count()
        report = import_bibtex(text, "export", format=format, dry_run=True)
        assert len(report.rows) == count, [row.reasons for row in report.rows]
        for row in report.rows:
            assert row.status == DUPLICATE, (row.entry.key, row.reasons)
            assert row.differences == [], (row.entry.key, row.differences)
        # Each row a duplicate of its own study: the file holds them in the export's order.
        own = list(Study.objects.order_by("slug").values_list("pk", flat=True))
        assert [row.existing.pk for row in report.rows] == own
        assert Study.objects.count() == count

    def _into_an_empty_catalog(self, catalog, format):
        if format == "csv":
            # A limit of CSV: a cell holds the authors joined by "; " (docs/importing.md).
            assume(all("; " not in name for fields in catalog[1] for name in fields["authors"]))
        _build(catalog)
        text = _export(format)
        before = sorted(map(repr, _state().values()))
        Study.objects.all().delete()
        report = import_bibtex(text, "export", format=format)
        assert not report.errors, [row.reasons for row in report.rows]
        assert sorted(map(repr, _state().values())) == before

    @SETTINGS
    @given(catalogs)
    def test_bibtex(self, catalog):
        self._duplicates_only(catalog, "bibtex")

    @SETTINGS
    @given(catalogs)
    def test_ris(self, catalog):
        self._duplicates_only(catalog, "ris")

    @SETTINGS
    @given(catalogs)
    def test_csv(self, catalog):
        self._duplicates_only(catalog, "csv")

    @SETTINGS
    @given(catalogs)
    def test_json(self, catalog):
        self._duplicates_only(catalog, "json")

    @SETTINGS
    @given(catalogs)
    def test_csv_into_an_empty_catalog(self, catalog):
        self._into_an_empty_catalog(catalog, "csv")

    @SETTINGS
    @given(catalogs)
    def test_json_into_an_empty_catalog(self, catalog):
        self._into_an_empty_catalog(catalog, "json")
