"""The one form model: a Slack modal, a Discord modal, or console prompts, as each adapter renders it.

A form never loses what the member typed: a submission with mistakes comes back as the same form
with their values in it and a message per field (`FormErrors`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# The strictest platform's limits, so that one form renders everywhere: Slack titles 24 characters,
# Discord 45 and five inputs; Discord labels 45; values 4000.
MAX_TITLE = 24
MAX_FIELDS = 5
MAX_LABEL = 45
MAX_VALUE = 4000


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str
    value: str = ""  # what the field holds when the form opens (the member's text when it comes back)
    placeholder: str = ""
    required: bool = True
    max_length: int = 200
    multiline: bool = False
    choices: tuple[str, ...] = ()  # a hint shown beside the field; the value is still checked on submit


@dataclass(frozen=True)
class Form:
    kind: str  # which submission handler reads it: "suggest", "approve", "reject", "edit"
    title: str
    fields: tuple[FormField, ...]
    ref: str = ""  # what it acts on: a suggestion's number, "anyway"
    submit: str = "Submit"
    intro: str = ""

    def with_values(self, values: dict[str, str]) -> Form:
        return replace(self, fields=tuple(replace(f, value=values.get(f.name, f.value)) for f in self.fields))


@dataclass(frozen=True)
class FormSubmission:
    kind: str
    ref: str
    values: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return (self.values.get(name) or "").strip()


@dataclass(frozen=True)
class FormErrors:
    """The form again, holding the member's values, and what to fix in each field."""

    form: Form
    errors: dict[str, str]

    @property
    def message(self) -> str:
        labels = {f.name: f.label for f in self.form.fields}
        return "\n".join(f"{labels.get(name, name)}: {text}" for name, text in self.errors.items())
