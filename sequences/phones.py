"""Phone numbers in one form, E.164 (`+15559877430`), so that a number typed as
`+1 (555) 987-7430` and the same number arriving from a carrier compare equal: an opt-out by
STOP must find the contact however the number was typed."""

import phonenumbers


def to_e164(number: str, default_region: str) -> str:
    """The number in E.164; one without a country code is read as in `default_region` (ISO
    3166 alpha-2, e.g. US). A ValueError says why a number cannot be one."""
    try:
        parsed = phonenumbers.parse(number, default_region.upper())
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"{number!r} is not a phone number: {error}") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(
            f"{number!r} is not a possible phone number; give it with its country code, "
            "e.g. +15559877430"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
