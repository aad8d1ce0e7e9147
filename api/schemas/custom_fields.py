from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import RequestBody
from sequences import FieldType


class CustomFieldCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", examples=["birthday"])
    type: FieldType
    label: str = Field(default="", max_length=200)


class CustomFieldRead(BaseModel):
    name: str
    type: FieldType
    label: str
    created_at: datetime
