"""The evidence model: studies, the conditions they address, what they found, and where
the catalog learned each fact (sources, their verbatim mentions and claims).

One module per topic; every model is imported here, so ``from studies.models import X``
works for each of them."""

from .catalog import (
    YEAR_MAX,
    YEAR_MIN,
    Condition,
    SearchDocument,
    Study,
    StudyCondition,
    StudyPart,
    text_field,
)
from .imports import ImportJob, new_token
from .results import BottomLine, EffectSummary, Outcome
from .revision import CatalogRevision
from .sources import Claim, Mention, Source

__all__ = [
    "YEAR_MAX",
    "YEAR_MIN",
    "BottomLine",
    "CatalogRevision",
    "Claim",
    "Condition",
    "EffectSummary",
    "ImportJob",
    "Mention",
    "Outcome",
    "SearchDocument",
    "Source",
    "Study",
    "StudyCondition",
    "StudyPart",
    "new_token",
    "text_field",
]
