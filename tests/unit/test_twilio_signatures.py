"""Twilio's signatures are checked as Twilio's own library checks them."""

import pytest
from twilio.request_validator import RequestValidator

from api.errors import Unauthorized
from api.services.webhooks import check_twilio_signature

TOKEN = "twilio-auth-token"
PARAMS = [("From", "+15559877430"), ("Body", "STOP"), ("To", "+15550000000")]


@pytest.mark.parametrize(
    ("ours", "signed_by_twilio"),
    [
        ("https://campaigns.example.com/webhooks/twilio/inbound",) * 2,
        (
            "https://campaigns.example.com/webhooks/twilio/inbound",
            "https://campaigns.example.com:443/webhooks/twilio/inbound",
        ),
        (
            "https://campaigns.example.com:443/webhooks/twilio/inbound",
            "https://campaigns.example.com/webhooks/twilio/inbound",
        ),
        (
            "http://campaigns.example.com:8000/webhooks/twilio/inbound?x=1",
            "http://campaigns.example.com/webhooks/twilio/inbound?x=1",
        ),
    ],
)
def test_a_signature_twilios_validator_accepts_is_accepted(
    ours: str, signed_by_twilio: str
) -> None:
    signature = RequestValidator(TOKEN).compute_signature(signed_by_twilio, dict(PARAMS))
    assert RequestValidator(TOKEN).validate(ours, dict(PARAMS), signature)
    check_twilio_signature(TOKEN, ours, PARAMS, signature)


def test_a_signature_over_another_url_or_body_is_refused() -> None:
    url = "https://campaigns.example.com/webhooks/twilio/inbound"
    validator = RequestValidator(TOKEN)
    for signed_url, params in (
        ("https://other.example.com/webhooks/twilio/inbound", PARAMS),
        (url, [*PARAMS[:1], ("Body", "YES"), *PARAMS[2:]]),
    ):
        signature = validator.compute_signature(signed_url, dict(params))
        assert not validator.validate(url, dict(PARAMS), signature)
        with pytest.raises(Unauthorized):
            check_twilio_signature(TOKEN, url, PARAMS, signature)
