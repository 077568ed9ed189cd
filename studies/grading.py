"""The certainty rubric's mechanical part (docs/curation.md, "Certainty").

An effect summary starts at the level its study's design allows and goes down one step for
each reason the curator records (GRADE's downgrades). Some reasons are facts of the record,
not judgements, and the rubric requires them: a primary study is a single study, and figures
the catalog holds only as a secondary document's quote are known only from that source.
"""

from .vocabulary import DESIGN_LEVELS, Certainty, Design, Downgrade, EvidenceLevel

# Highest to lowest.
LADDER = [Certainty.HIGH, Certainty.MODERATE, Certainty.LOW, Certainty.VERY_LOW]

STARTING_LEVEL = {
    EvidenceLevel.SYNTHESIS: Certainty.HIGH,
    EvidenceLevel.RANDOMISED: Certainty.HIGH,
    EvidenceLevel.CONTROLLED_OBSERVATIONAL: Certainty.LOW,
    EvidenceLevel.CASES: Certainty.VERY_LOW,
    EvidenceLevel.OPINION: Certainty.VERY_LOW,
    EvidenceLevel.UNCLASSIFIED: Certainty.VERY_LOW,
}


# A study of one of these designs is a single study; a review is not.
PRIMARY_LEVELS = {
    EvidenceLevel.RANDOMISED,
    EvidenceLevel.CONTROLLED_OBSERVATIONAL,
    EvidenceLevel.CASES,
}


def starting_level(design):
    """The certainty a design starts at; None for a design with no results to grade."""
    return STARTING_LEVEL.get(DESIGN_LEVELS[Design(design)])


def lower(certainty, steps):
    return LADDER[min(LADDER.index(Certainty(certainty)) + steps, len(LADDER) - 1)]


def required_downgrades(design, figures_only_from_secondary_sources):
    """The downgrades a record's facts impose whatever the curator judges."""
    required = set()
    if DESIGN_LEVELS[Design(design)] in PRIMARY_LEVELS:
        required.add(Downgrade.SINGLE_STUDY)
    if figures_only_from_secondary_sources:
        required.add(Downgrade.SECONDARY_SOURCE)
    return required


def graded_certainty(design, downgrades):
    """The certainty the rubric gives: the starting level, one step down per reason."""
    start = starting_level(design)
    return None if start is None else lower(start, len(set(downgrades)))


def at_or_below(certainty, ceiling):
    return LADDER.index(Certainty(certainty)) >= LADDER.index(Certainty(ceiling))
