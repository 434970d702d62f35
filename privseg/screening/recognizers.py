"""presidio ``PatternRecognizer`` subclasses for the pattern specs of :mod:`.patterns`."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from privseg.screening.patterns import FLAGS, LANGUAGE, SPECS, PatternSpec

__all__ = ["SpecRecognizer", "build_recognizers"]


class SpecRecognizer(PatternRecognizer):
    """A presidio pattern recognizer for one :class:`PatternSpec`.

    ``validate_result`` runs the spec's validator: True raises the score to the maximum,
    False drops the match. Context words are matched against the header passed as context.
    """

    def __init__(self, spec: PatternSpec) -> None:
        self.spec = spec
        super().__init__(
            supported_entity=spec.entity,
            name=f"{spec.entity.lower()}_recognizer",
            patterns=[Pattern(spec.entity.lower(), spec.regex, spec.score)],
            context=list(spec.context),
            supported_language=LANGUAGE,
            global_regex_flags=FLAGS,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Run the spec's validator on a matched text; None when the spec has none."""
        if self.spec.validator is None:
            return None
        return self.spec.validator(pattern_text.replace(" ", ""))


def build_recognizers() -> list[SpecRecognizer]:
    """One presidio recognizer per spec."""
    return [SpecRecognizer(spec) for spec in SPECS]
