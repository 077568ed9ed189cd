"""“Did you mean …” for a search that finds no or few studies, from the catalog's own
vocabulary (condition names and synonyms, authors, journals, title words), matched with
rapidfuzz; and the condition a search names, with its page and its filter."""

from dataclasses import dataclass

from django.db import connection
from rapidfuzz import fuzz, process

from .caching import for_this_version
from .models import Condition, Study
from .search import STOP_WORDS, WORD

FEW_RESULTS = 3  # a search with at most this many results gets spelling suggestions
WORD_CUTOFF = 75  # rapidfuzz ratio (0–100) a word must reach to be suggested
STRICT_CUTOFF = 85  # the same, for a word matched against the common words only
CONDITION_CUTOFF = 85


@dataclass(frozen=True)
class Vocabulary:
    words: frozenset
    choices: tuple  # the words, for rapidfuzz


def condition_names():
    """{lower-case name or synonym: (slug, name)} of every condition."""
    conditions = {}
    for slug, name, synonyms in Condition.objects.values_list("slug", "name", "synonyms"):
        for label in [name, *(synonyms if isinstance(synonyms, list) else [])]:
            conditions[str(label).lower()] = (slug, name)
    return conditions


def build_common_words():
    """The words of condition names, synonyms and journals: a few hundred, cheap to read,
    and where most misspellings a reader makes have their match."""
    words = set()
    for label in condition_names():
        words.update(_words(label))
    journals = Study.objects.order_by().values_list("journal", flat=True).distinct()
    for journal in journals:
        words.update(_words(journal))
    return Vocabulary(frozenset(words), tuple(sorted(words)))


def build_vocabulary():
    """Every word of the catalog a reader may have meant, kept per catalog version and
    built only for a search that found few studies: distinct values are gathered by the
    database (authors one by one from their lists), words split here."""
    words = set()
    for label in condition_names():
        words.update(_words(label))
    studies = Study.objects.order_by()
    for field in ("journal", "title"):
        for text in studies.values_list(field, flat=True).distinct().iterator(chunk_size=5000):
            words.update(_words(text))
    for author in _distinct_authors():
        words.update(_words(author))
    return Vocabulary(frozenset(words), tuple(sorted(words)))


def _distinct_authors():
    table = Study._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT DISTINCT jsonb_array_elements_text(authors) FROM {table}"
            " WHERE jsonb_typeof(authors) = 'array'"
        )
    else:
        sql = f"SELECT DISTINCT value FROM {table}, json_each({table}.authors)"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [str(value) for (value,) in cursor.fetchall()]


def _words(text):
    return (w for w in WORD.findall(text.lower()) if len(w) > 2 and w not in STOP_WORDS)


def vocabulary():
    return for_this_version("search-vocabulary", build_vocabulary)


def common_words():
    return for_this_version("search-common-words", build_common_words)


def conditions():
    return for_this_version("search-conditions", condition_names)


@dataclass(frozen=True)
class Suggestions:
    corrected: str = ""  # the search with its misspelt words replaced, or ""
    condition: tuple = ()  # (slug, name) of a condition the search names
    # The whole search names the condition (not one word of it): filtering by the
    # condition replaces the search, which may be a misspelling that finds nothing.
    condition_is_search: bool = False


def suggest(parsed, total):
    """Suggestions for the parsed search ``parsed`` that found ``total`` studies."""
    if not parsed:
        return Suggestions()
    condition, whole = _condition(parsed, conditions())
    return Suggestions(
        corrected=_corrected(parsed) if total <= FEW_RESULTS else "",
        condition=condition,
        condition_is_search=whole,
    )


def _corrected(parsed):
    """The search with each misspelt word replaced: first from the common words, and only
    when a word is neither there nor close to one of them, from the whole vocabulary."""
    common = common_words()
    unsure = [
        w
        for t in parsed.positive
        for w in t.words
        if _checked(w) and w not in common.words and not _nearest(w, common, STRICT_CUTOFF)
    ]
    vocab = vocabulary() if unsure else common
    return _rewritten(parsed, vocab, WORD_CUTOFF if unsure else STRICT_CUTOFF)


def _checked(word):
    return not word.isdigit() and len(word) >= 4


def _rewritten(parsed, vocab, cutoff):
    changed = False
    terms = []
    for term in parsed.terms:
        words = []
        for word in term.words:
            better = _nearest(word, vocab, cutoff) if not term.negated else None
            if better:
                changed = True
            words.append(better or word)
        text = " ".join(words)
        if len(words) > 1:
            text = f'"{text}"'
        terms.append(("-" if term.negated else "") + text)
    return " ".join(terms) if changed else ""


def _nearest(word, vocab, cutoff):
    if word in vocab.words or not _checked(word):
        return None
    match = process.extractOne(word, vocab.choices, scorer=fuzz.ratio, score_cutoff=cutoff)
    if match is None:
        return None
    better = match[0]
    # "trials" for "trial" is what stemming already does: no suggestion.
    if better.startswith(word) or word.startswith(better):
        return None
    return better


def _condition(parsed, names):
    """((slug, name) of the condition the search names, or (); whether the whole search
    names it)."""
    text = " ".join(parsed.words())
    whole = len(parsed.positive) == len(parsed.terms)  # a -word is more than the name
    if text in names:
        return names[text], whole
    match = process.extractOne(text, list(names), scorer=fuzz.ratio, score_cutoff=CONDITION_CUTOFF)
    if match:
        return names[match[0]], whole
    for word in parsed.words():
        if word in names:
            return names[word], False
    return (), False
