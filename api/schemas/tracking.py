"""What the visit script on a tracked site's pages reports."""

from pydantic import ConfigDict, Field

from api.schemas.common import RequestBody


class PageView(RequestBody):
    """A page of a tracked site was shown."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="The page's address.")
    referrer: str | None = Field(default=None, max_length=2000)
    contact: str | None = Field(
        default=None,
        max_length=200,
        description="The visitor's token, from the `cs_contact` parameter a tracked link added; "
        "without it, the `cs_visitor` cookie the redirect set names the visitor.",
    )


class PageViewRecorded(RequestBody):
    recorded: bool = Field(description="False for a visitor no tracked link has identified.")
    view: str | None = Field(
        default=None, description="Where to report the time on page: POST /t/visits/{view}."
    )


class TimeOnPage(RequestBody):
    """How long the page has been shown so far, reported as the visitor leaves or hides it."""

    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(ge=0, le=86_400)
