"""`python -m api`: serve the API with the project's logging (JSON lines unless LOG_FORMAT=text)."""

import uvicorn

import logs
from settings import get_settings


def main() -> None:
    settings = get_settings()
    logs.configure(settings.log_level, structured=settings.log_format == "json")
    # log_config=None: uvicorn keeps the logging configured above instead of its own.
    uvicorn.run("api.main:app", host=settings.api_host, port=settings.api_port, log_config=None)


if __name__ == "__main__":
    main()
