"""Connecting to Temporal with the data converter every part of the system shares."""

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from settings import Settings

DATA_CONVERTER = pydantic_data_converter


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        runtime=runtime,
    )


def prometheus_runtime(bind_address: str) -> Runtime:
    """A runtime whose SDK and custom metrics are served at http://<bind_address>/metrics."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))
