"""“Did you mean …” for a search that finds no or few studies, from the catalog's own
vocabulary (condition names and synonyms, authors, journals, title words), matched with
rapidfuzz; and the condition a search names, with its page and its filter."""

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .models import Condition, Study
from .search import STOP_WORDS, WORD

FEW_RESULTS = 3  # a search with at most this many results gets spelling suggestions
WORD_CUTOFF = 75  # rapidfuzz ratio (0–100) a word must reach to be suggested
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


def build_vocabulary():
    """Every word of the catalog a reader may have meant: one pass over the studies,
    kept per catalog version, and only built for a search that found few studies."""
    words = set()
    for label in condition_names():
        words.update(_words(label))
    journals = Study.objects.exclude(journal="").order_by().values_list("journal", flat=True)
    for journal in journals.distinct().iterator(chunk_size=2000):
        words.update(_words(journal))
    for title, authors in Study.objects.values_list("title", "authors").iterator(chunk_size=2000):
        words.update(_words(title))
        for author in authors if isinstance(authors, list) else []:
            words.update(_words(str(author)))
    return Vocabulary(frozenset(words), tuple(sorted(words)))


def _words(text):
    return (w for w in WORD.findall(text.lower()) if len(w) > 2 and w not in STOP_WORDS)


def vocabulary():
    from .caching import for_this_version

    return for_this_version("search-vocabulary", build_vocabulary)


def conditions():
    from .caching import for_this_version

    return for_this_version("search-conditions", condition_names)


@dataclass(frozen=True)
class Suggestions:
    corrected: str = ""  # the search with its misspelt words replaced, or ""
    condition: tuple = ()  # (slug, name) of a condition the search names


def suggest(parsed, total):
    """Suggestions for the parsed search ``parsed`` that found ``total`` studies."""
    if not parsed:
        return Suggestions()
    return Suggestions(
        corrected=_corrected(parsed, vocabulary()) if total <= FEW_RESULTS else "",
        condition=_condition(parsed, conditions()),
    )


def _corrected(parsed, vocab):
    changed = False
    terms = []
    for term in parsed.terms:
        words = []
        for word in term.words:
            better = _nearest(word, vocab) if not term.negated else None
            if better:
                changed = True
            words.append(better or word)
        text = " ".join(words)
        if len(words) > 1:
            text = f'"{text}"'
        terms.append(("-" if term.negated else "") + text)
    return " ".join(terms) if changed else ""


def _nearest(word, vocab):
    if word in vocab.words or word.isdigit() or len(word) < 4:
        return None
    match = process.extractOne(word, vocab.choices, scorer=fuzz.ratio, score_cutoff=WORD_CUTOFF)
    if match is None:
        return None
    better = match[0]
    # "trials" for "trial" is what stemming already does: no suggestion.
    if better.startswith(word) or word.startswith(better):
        return None
    return better


def _condition(parsed, names):
    text = " ".join(parsed.words())
    if text in names:
        return names[text]
    match = process.extractOne(text, list(names), scorer=fuzz.ratio, score_cutoff=CONDITION_CUTOFF)
    if match:
        return names[match[0]]
    for word in parsed.words():
        if word in names:
            return names[word]
    return ()
