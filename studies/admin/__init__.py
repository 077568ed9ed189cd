from .catalog import (  # noqa: F401 (registers the admins)
    ClaimAdmin,
    ConditionAdmin,
    EffectSummaryAdmin,
    MentionAdmin,
    OutcomeAdmin,
    SourceAdmin,
    StudyAdmin,
)
