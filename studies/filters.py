"""The study list's filters: the query string a reader shares is this FilterSet's data.

A value the filters cannot use (an unknown condition, ``year_min=abc``, a NUL byte) is left
out and reported in ``problems``, and the rest of the filter still applies: a shared link
with one typo shows a slightly wider list and says why, never an error page.
"""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.text import Truncator, capfirst

from .models import YEAR_MAX, YEAR_MIN, Condition, Study
from .querysets import DEFAULT_SORT, SORT_CHOICES
from .search import clean_text, parse
from .vocabulary import (
    DESIGN_PLURALS,
    DOSE_BAND_WORDS,
    Design,
    DoseBand,
    EvidenceLevel,
    OutcomeDomain,
    Status,
)

MAX_QUERY_LENGTH = 200
MAX_SAMPLE_SIZE = 10**9
# Parameters in the order a canonical URL lists them.
PARAMETERS = [
    "q",
    "condition",
    "design",
    "domain",
    "year_min",
    "year_max",
    "undated",
    "status",
    "level",
    "min_n",
    "dose_band",
    "has_results",
    "sort",
]
MULTIPLE = {"condition", "design", "domain", "dose_band"}
# `condition=none`: the studies the documents tie to no condition.
NO_CONDITION = ("none", "No condition named")
# Not a stored status: trials completed without results or a publication (see
# StudyQuerySet.completed_unpublished).
COMPLETED_UNPUBLISHED = "completed_unpublished"
COMPLETED_UNPUBLISHED_LABEL = "Completed trials, no results posted or published"
NOT_A_CHOICE = {"invalid_choice": "Not one of the choices."}


class LenientMultipleChoiceField(forms.MultipleChoiceField):
    """Keeps the values it knows and remembers the others in ``unknown``.

    One mistyped slug among several then drops that slug only, not the whole filter.
    """

    def clean(self, value):
        values = self.to_python(value)
        self.unknown = [v for v in values if not self.valid_value(v)]
        return sorted({v for v in values if self.valid_value(v)})


class FlagField(forms.Field):
    """A yes/no parameter: ``1``, ``true``, ``yes`` or ``on`` mean yes; absent means no."""

    YES = {"1", "true", "yes", "on"}
    NO = {"", "0", "false", "no", "off"}

    def to_python(self, value):
        text = (value or "").strip().lower()
        if text in self.YES:
            return True
        if text in self.NO:
            return None
        raise forms.ValidationError("Use 1 for yes, or leave it out.", code="invalid")


class SearchTextField(forms.CharField):
    """The search box: control and formatting characters (NUL, right-to-left overrides)
    become spaces and text past MAX_QUERY_LENGTH is cut at a word, each with a note in
    ``notes``, rather than the whole search being refused."""

    def to_python(self, value):
        self.notes = []
        text = super().to_python(value)
        cleaned = clean_text(text)
        if cleaned != " ".join(text.split()):
            self.notes.append("Invisible control characters were removed from the search.")
        if len(cleaned) > MAX_QUERY_LENGTH:
            cleaned = cleaned[: MAX_QUERY_LENGTH + 1].rsplit(" ", 1)[0][:MAX_QUERY_LENGTH]
            self.notes.append(f"Only the first {MAX_QUERY_LENGTH} characters were searched.")
        return cleaned


class SearchFilter(django_filters.CharFilter):
    field_class = SearchTextField


class SlugsFilter(django_filters.MultipleChoiceFilter):
    field_class = LenientMultipleChoiceField


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class FlagFilter(django_filters.Filter):
    field_class = FlagField


class StudyFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        if data.get("q"):
            data["q"] = " ".join(data["q"].split())
        low, high = data.get("year_min"), data.get("year_max")
        if low is not None and high is not None and low > high:
            # "2024 to 2010" can only mean 2010 to 2024.
            data["year_min"], data["year_max"] = high, low
        return data


class StudyFilter(django_filters.FilterSet):
    parameters = PARAMETERS  # in a list's address, in this order (canonical_params)
    q = SearchFilter(label="Search", method="filter_q", strip=True)
    condition = SlugsFilter(label="Condition", method="filter_condition")
    design = SlugsFilter(label="Design", choices=Design.choices, method="filter_design")
    domain = SlugsFilter(
        label="Outcome domain", choices=OutcomeDomain.choices, method="filter_domain"
    )
    year_min = IntegerFilter(
        label="Year from",
        method="filter_year_min",
        min_value=YEAR_MIN,
        max_value=YEAR_MAX,
    )
    year_max = IntegerFilter(
        label="Year to",
        method="filter_year_max",
        min_value=YEAR_MIN,
        max_value=YEAR_MAX,
    )
    # With a year range, studies that give no year are left out unless this is set.
    undated = FlagFilter(label="Include studies without a year", method="keep")
    status = django_filters.ChoiceFilter(
        label="Status",
        choices=[*Status.choices, (COMPLETED_UNPUBLISHED, COMPLETED_UNPUBLISHED_LABEL)],
        method="filter_status",
        error_messages=NOT_A_CHOICE,
    )
    level = django_filters.ChoiceFilter(
        label="Evidence level",
        field_name="evidence_level",
        choices=EvidenceLevel.choices,
        error_messages=NOT_A_CHOICE,
    )
    min_n = IntegerFilter(
        label="Smallest sample size",
        field_name="sample_size",
        lookup_expr="gte",
        min_value=0,
        max_value=MAX_SAMPLE_SIZE,
    )
    dose_band = SlugsFilter(label="Daily dose", choices=DoseBand.choices, method="filter_dose_band")
    has_results = FlagFilter(label="With reported outcomes", method="filter_has_results")
    # Ordering, not filtering: applied in filter_queryset, after every filter.
    sort = django_filters.ChoiceFilter(
        label="Sort",
        choices=SORT_CHOICES,
        method="keep",
        empty_label=None,
        error_messages=NOT_A_CHOICE,
    )

    class Meta:
        model = Study
        fields: list[str] = []
        form = StudyFilterForm

    def __init__(self, data=None, queryset=None, **kwargs):
        if queryset is None:
            queryset = Study.objects.all()
        super().__init__(data, queryset, **kwargs)
        # Every condition, by name: the condition facet lists them too.
        self.conditions = conditions = list(
            Condition.objects.order_by("name").values_list("slug", "name", "pk")
        )
        self.condition_names = {slug: name for slug, name, _ in conditions}
        self.condition_ids = {slug: pk for slug, _, pk in conditions}
        self.filters["condition"].extra["choices"] = [
            *sorted(self.condition_names.items(), key=lambda item: item[1]),
            NO_CONDITION,
        ]
        self.condition_names[NO_CONDITION[0]] = NO_CONDITION[1]

    # Filter methods.

    def filter_q(self, queryset, name, value):
        return queryset.search(self.search)

    @property
    def search(self):
        """The search text parsed into terms (studies/search.py), once per filter."""
        if not hasattr(self, "_search"):
            self._search = parse(self.value.get("q") or "")
        return self._search

    def search_notes(self):
        """What the search left out of the reader's text, a sentence each."""
        self.form.is_valid()  # cleans the data, if not yet done
        notes = list(getattr(self.form.fields["q"], "notes", []))
        if self.value.get("q"):
            notes.extend(self.search.notes)
        return notes

    def filter_condition(self, queryset, name, value):
        ids = [self.condition_ids[slug] for slug in value if slug != NO_CONDITION[0]]
        if NO_CONDITION[0] not in value:
            return queryset.for_any_condition_id(ids)
        untagged = queryset.without_conditions()
        return (queryset.for_any_condition_id(ids) | untagged) if ids else untagged

    def filter_year_min(self, queryset, name, value):
        return self._in_years(queryset, Q(year__gte=value))

    def filter_year_max(self, queryset, name, value):
        return self._in_years(queryset, Q(year__lte=value))

    def _in_years(self, queryset, in_range):
        if self.value.get("undated"):
            in_range |= Q(year__isnull=True)
        return queryset.filter(in_range)

    def has_year_range(self):
        return self.value.get("year_min") is not None or self.value.get("year_max") is not None

    def filter_design(self, queryset, name, value):
        return queryset.filter(design__in=value)

    def filter_domain(self, queryset, name, value):
        return queryset.with_outcome_in(value)

    def filter_dose_band(self, queryset, name, value):
        return queryset.filter(dose_band__in=value)

    def filter_status(self, queryset, name, value):
        if value == COMPLETED_UNPUBLISHED:
            return queryset.completed_unpublished()
        return queryset.filter(status=value)

    def filter_has_results(self, queryset, name, value):
        return queryset.with_results()

    def keep(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset, without=(), counting=False):
        """Apply every valid filter except those named in ``without``, then sort.

        ``counting``: the result is to be counted, not paged, so conditions take the
        form that counts fastest (``StudyQuerySet.counted_for_any_condition_id``).
        """
        for name, value in self.form.cleaned_data.items():
            if name in without:
                continue
            if counting and name == "condition" and value and NO_CONDITION[0] not in value:
                ids = [self.condition_ids[slug] for slug in value]
                queryset = queryset.counted_for_any_condition_id(ids)
            else:
                queryset = self.filters[name].filter(queryset, value)
        return queryset.sorted_by(self.form.cleaned_data.get("sort"))

    def facet_queryset(self, *without):
        """The current result set without some filters' own selection, unordered, to count."""
        self.form.is_valid()  # cleans the data, if not yet done
        return self.filter_queryset(self.queryset.all(), without, counting=True).order_by()

    # What the filter means, for the page, the URL and the exports.

    @property
    def value(self):
        """The cleaned value of each parameter; a value that was not understood is absent."""
        self.form.is_valid()  # cleans the data, if not yet done
        return self.form.cleaned_data

    def problems(self):
        """A sentence for each value that was not understood and so was left out."""
        self.form.is_valid()  # cleans the data, if not yet done
        messages = []
        for name in PARAMETERS:
            field = self.form.fields[name]
            raw = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            for value in getattr(field, "unknown", []):
                messages.append(
                    f"{field.label}: “{_shown(value)}” is not in the catalog; left out."
                )
            if name in self.form.errors:
                shown = ", ".join(f"“{_shown(v)}”" for v in raw) or "the value"
                reason = " ".join(e.rstrip(".") for e in self.form.errors[name])
                reason = reason[:1].lower() + reason[1:]
                messages.append(f"{field.label}: {shown} was not understood ({reason}); left out.")
        return messages

    def canonical_params(self, page=None):
        """The query string parameters, in one fixed form, for what this filter shows."""
        data = self.value
        params = []
        for name in PARAMETERS:
            value = data.get(name)
            if name == "sort" and value in (self.default_sort(), "relevance"):
                continue  # the default, or best match without a search (the default order)
            if name == "undated" and not self.has_year_range():
                continue  # it changes nothing without a year range
            if name in MULTIPLE:
                params.extend((name, v) for v in value or [])
            elif value is True:
                params.append((name, "1"))
            elif value not in (None, ""):
                params.append((name, str(value)))
        if page and page > 1:
            params.append(("page", str(page)))
        return params

    def params_with(self, name, value):
        """The canonical parameters with one more, in their fixed order."""
        return self.sorted_params([*self.canonical_params(), (name, value)])

    @staticmethod
    def sorted_params(params):
        return sorted(params, key=lambda item: PARAMETERS.index(item[0]))

    def chips(self):
        """The active filters, each as (label, the canonical parameters without it): the
        list shows them as removable chips, in the URL's fixed order (the order the reader
        added them in is not in the URL)."""
        params = self.canonical_params()
        data = self.value
        chips = []

        def without(*names, value=None):
            return [(k, v) for k, v in params if not (k in names and (value is None or v == value))]

        if data.get("q"):
            chips.append((f"Search: “\u2068{data['q']}\u2069”", without("q")))
        for slug in data.get("condition") or []:
            chips.append((self.condition_names[slug], without("condition", value=slug)))
        for design in data.get("design") or []:
            chips.append((Design(design).label, without("design", value=design)))
        for domain in data.get("domain") or []:
            label = f"Outcomes on {OutcomeDomain(domain).label.lower()}"
            chips.append((label, without("domain", value=domain)))
        if self.has_year_range():
            years = self.describe_years()
            chips.append((f"Years: {years}", without("year_min", "year_max", "undated")))
            if data.get("undated"):
                chips.append(("Studies without a year", without("undated")))
        if data.get("status") == COMPLETED_UNPUBLISHED:
            chips.append((COMPLETED_UNPUBLISHED_LABEL, without("status")))
        elif data.get("status"):
            chips.append((Status(data["status"]).label, without("status")))
        if data.get("level"):
            chips.append((f"Evidence level {data['level']}", without("level")))
        if data.get("min_n") is not None:
            chips.append((f"At least {data['min_n']} participants", without("min_n")))
        for band in data.get("dose_band") or []:
            label = capfirst(DOSE_BAND_WORDS[DoseBand(band)])
            chips.append((label, without("dose_band", value=band)))
        if data.get("has_results"):
            chips.append(("With reported outcomes", without("has_results")))
        return chips

    def describe_years(self):
        low, high = self.value.get("year_min"), self.value.get("year_max")
        if low is not None and high is not None:
            return str(low) if low == high else f"{low}–{high}"
        if low is not None:
            return f"{low} onwards"
        if high is not None:
            return f"up to {high}"
        return ""

    def default_sort(self):
        # A search comes best match first.
        return "relevance" if self.search else DEFAULT_SORT

    def export_params(self):
        """The canonical parameters, without ``page``: an export holds every match."""
        return self.canonical_params()

    def file_stem(self):
        """A download's file name without extension, e.g. ``ldn-studies-fibromyalgia``."""
        parts = ["ldn-studies", *self.value.get("condition", []), *self.value.get("design", [])]
        return "-".join(parts)[:120]

    def heading(self, count):
        """E.g. ``Fibromyalgia · randomised trials · 2010–2024 · 4 studies``."""
        studies = "1 study" if count == 1 else f"{count} studies"
        parts = self.describe() or ["All studies"]
        return capfirst(" · ".join([*parts, studies]))

    def sentence(self, count):
        """What the list holds, for a link preview: e.g. ``12 studies of fibromyalgia,
        randomised trials, 2010–2024``."""
        studies = "1 study" if count == 1 else f"{count} studies"
        parts = self.describe()
        data = self.value
        if data.get("q") and self.search:
            parts.pop(0)
            studies += f" matching “{data['q']}”"
        if data.get("condition"):
            studies += " of " + " or ".join(
                _in_sentence(self.condition_names[s]) for s in data["condition"]
            )
            parts.pop(0)
        return ", ".join([studies, *parts])

    def describe(self):
        """The filter in words, e.g. ``Fibromyalgia · randomised trials · 2010–2024``."""
        data = self.value
        parts = []
        if data.get("q") and self.search:  # not a search with no word to look for
            # Isolated, so a right-to-left override in the search cannot reverse the heading.
            parts.append(f"“\u2068{data['q']}\u2069”")
        if data.get("condition"):
            parts.append(" or ".join(self.condition_names[s] for s in data["condition"]))
        if data.get("design"):
            parts.append(" or ".join(DESIGN_PLURALS[Design(d)] for d in data["design"]))
        if data.get("domain"):
            domains = " or ".join(OutcomeDomain(d).label.lower() for d in data["domain"])
            parts.append(f"outcomes on {domains}")
        if self.has_year_range():
            years = self.describe_years()
            parts.append(f"{years} or without a year" if data.get("undated") else years)
        if data.get("status") == COMPLETED_UNPUBLISHED:
            parts.append(COMPLETED_UNPUBLISHED_LABEL.lower())
        elif data.get("status"):
            parts.append(Status(data["status"]).label.lower())
        if data.get("level"):
            level = EvidenceLevel(int(data["level"]))
            parts.append(f"evidence level {level.value}: {level.label.lower()}")
        if data.get("min_n") is not None:
            parts.append(f"at least {data['min_n']} participants")
        if data.get("dose_band"):
            parts.append(" or ".join(DOSE_BAND_WORDS[DoseBand(b)] for b in data["dose_band"]))
        if data.get("has_results"):
            parts.append("with reported outcomes")
        return parts


def _shown(value):
    """A raw parameter value made safe to repeat back: no control characters, not too long."""
    printable = "".join(c if c.isprintable() else "�" for c in str(value))
    return Truncator(printable).chars(60)


def _in_sentence(name):
    """A condition's name inside a sentence: a capital that only starts the name is
    lowered ("multiple sclerosis", "long COVID"); an acronym or a person's name keeps its
    capitals ("HIV", "ME/CFS", "Crohn's disease", "Hailey-Hailey disease")."""
    first = name.split(" ", 1)[0]
    return name[:1].lower() + name[1:] if first.isalpha() and first[1:].islower() else name
