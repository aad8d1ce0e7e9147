"""Templates: Jinja2 in its sandbox, merge fields checked at design time, values inert."""

from typing import Any

import pytest

from sequences.merge import TemplateRenderError, check_merge_fields, merge_fields_in, render

ADA: dict[str, Any] = {
    "contact": {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "a@x.io",
        "fields": {"vip": True, "tier": "gold", "score": None},
    },
    "owner": {"name": "Grace"},
    "company": {},
}


@pytest.mark.parametrize(
    "template",
    [
        "Hi {{contact.first_name}}!",
        "Hi {{ contact.first_name }}!",
        "Hi {{  contact.first_name\t}}!",
    ],
)
def test_render_replaces_a_field_with_or_without_inner_spaces(template: str) -> None:
    assert render(template, ADA) == "Hi Ada!"


def test_render_replaces_every_field() -> None:
    rendered = render("{{ contact.first_name }} {{contact.last_name}} <{{ contact.email }}>", ADA)

    assert rendered == "Ada Lovelace <a@x.io>"


@pytest.mark.parametrize(
    "template",
    ["[{{ company.name }}]", "[{{ contact.fields.missing }}]", "[{{ contact.fields.score }}]"],
)
def test_a_field_without_value_renders_empty(template: str) -> None:
    assert render(template, ADA) == "[]"


def test_conditions_and_filters_work() -> None:
    template = "{% if contact.fields.vip %}Dear {{ contact.fields.tier | upper }} member{% endif %}"

    assert render(template, ADA) == "Dear GOLD member"


def test_a_trailing_newline_is_kept() -> None:
    assert render("Bye {{ owner.name }}\n", ADA) == "Bye Grace\n"


@pytest.mark.parametrize("value", ["{{ contact.email }}", "{% if true %}x{% endif %}", r"\1 \g<0>"])
def test_merged_values_are_inserted_as_text_never_evaluated(value: str) -> None:
    values = {**ADA, "contact": {**ADA["contact"], "first_name": value}}

    assert render("Hi {{ contact.first_name }}", values) == f"Hi {value}"


def test_html_templates_escape_values() -> None:
    values = {**ADA, "contact": {**ADA["contact"], "first_name": "<script>alert(1)</script>"}}

    rendered = render("<p>Hi {{ contact.first_name }}</p>", values, html=True)

    assert rendered == "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_the_sandbox_refuses_python_internals_while_rendering() -> None:
    # Design-time checks refuse this; the sandbox is the second wall for stored templates.
    with pytest.raises(TemplateRenderError, match="unsafe"):
        render("{{ ''.__class__.__mro__[1].__subclasses__() }}", ADA)


@pytest.mark.parametrize(
    "template", ["[{{ contact.fields.__class__ }}]", "[{{ contact.fields['__class__'] }}]"]
)
def test_the_sandbox_renders_private_attributes_empty(template: str) -> None:
    assert render(template, ADA) == "[]"


def test_a_template_that_fails_while_rendering_raises_a_render_error() -> None:
    with pytest.raises(TemplateRenderError, match="could not be rendered"):
        render("{{ contact.first_name() }}", ADA)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ ''.__class__ }}", "private attributes (__class__)"),
        ("{{ contact.fields['_secret'] }}", "private attributes (_secret)"),
        ("{{ cycler.__init__.__globals__ }}", "private attributes"),
        ("{{ config }}", "unknown name(s) config"),
        ("{{ contact.nickname }}", "unknown merge field(s) contact.nickname"),
        ("{% if contact.first_name %}", "template error on line 1"),
        ("{{ contact.first_name ", "template error"),
    ],
)
def test_design_time_check_refuses_with_a_reason(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_merge_fields(template)


@pytest.mark.parametrize(
    "template",
    ["{{ contact.fields.tier | default('none') }}", "{% for x in [1, 2] %}{{ x }}{% endfor %}"],
)
def test_design_time_check_accepts_filters_and_loop_variables(template: str) -> None:
    assert check_merge_fields(template) == template


def test_merge_fields_in_finds_all_fields_in_order() -> None:
    template = (
        "{{ contact.last_name }}, {{contact.first_name}} {{ 7*7 }} "
        "<{{ contact.email | lower }}> {% if contact.fields.vip %}{% endif %}"
    )

    assert merge_fields_in(template) == [
        "contact.last_name",
        "contact.first_name",
        "contact.email",
        "contact.fields.vip",
    ]


def test_plain_text_has_no_merge_fields_and_renders_unchanged() -> None:
    text = "Plain text with { braces } and 100% as is.\n"

    assert merge_fields_in(text) == []
    assert render(text, ADA) == text
