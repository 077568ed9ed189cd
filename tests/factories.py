"""Small factories for tests: each builds the least a test needs, with overridable fields."""

import itertools

from studies.models import (
    Claim,
    Condition,
    EffectSummary,
    Mention,
    Outcome,
    Source,
    Study,
)

_counter = itertools.count(1)


def make_condition(**fields):
    n = next(_counter)
    fields.setdefault("name", f"Condition {n}")
    fields.setdefault("slug", f"condition-{n}")
    fields.setdefault("category", "pain")
    return Condition.objects.create(**fields)


def make_source(**fields):
    n = next(_counter)
    fields.setdefault("title", f"Source {n}")
    fields.setdefault("slug", f"source-{n}")
    fields.setdefault("kind", "blog")
    return Source.objects.create(**fields)


def make_study(conditions=(), **fields):
    n = next(_counter)
    fields.setdefault("title", f"Study {n} of low-dose naltrexone")
    fields.setdefault("design", "rct")
    study = Study.objects.create(**fields)
    if conditions:
        study.conditions.set(conditions)
    return study


def make_outcome(study, **fields):
    fields.setdefault("name", "Pain")
    fields.setdefault("direction", "improved")
    return Outcome.objects.create(study=study, **fields)


def make_effect_summary(study, condition, **fields):
    fields.setdefault("verdict", "benefit")
    fields.setdefault("certainty", "low")
    return EffectSummary.objects.create(study=study, condition=condition, **fields)


def make_mention(study, source=None, **fields):
    fields.setdefault("quote", "a verbatim passage")
    return Mention.objects.create(study=study, source=source or make_source(), **fields)


def make_claim(study, source=None, **fields):
    fields.setdefault("quote", "a claim")
    fields.setdefault("verdict", "supported")
    return Claim.objects.create(study=study, source=source or make_source(), **fields)
