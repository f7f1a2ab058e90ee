"""The ``backends:`` section: where training runs and how much it may cost.

Only pydantic here. Secrets never live in this section: the ``*_env`` keys name
the environment variables that hold them and the ``*_block`` keys name Prefect
Secret blocks, which the caller reads through a resolver it passes in.
"""

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from ragtune.schema import StrictModel

BackendName = Literal["local", "prefect", "modal", "runpod"]

# The estimator's GPU catalogue names and the strings Modal's ``gpu=`` accepts.
MODAL_GPU_NAMES: dict[str, str] = {
    "L4": "L4",
    "L40S": "L40S",
    "A100-40GB": "A100-40GB",
    "A100-80GB": "A100-80GB",
    "H100-80GB": "H100",
    "H200": "H200",
}


class LocalBackendConfig(StrictModel):
    """A subprocess on this machine running the training entrypoint."""

    gpu: str | None = Field(
        None,
        description="Catalogue GPU (estimate.gpus) this machine has, for the cost "
        "cap; None: price the cheapest plan that fits.",
    )


class PrefectBackendConfig(StrictModel):
    """A deployment of flows/train_worker.py on a GPU work pool."""

    deployment: str = Field(
        "ragtune-train-worker/gpu",
        description="Deployment name as '<flow name>/<deployment name>'.",
    )
    work_pool: str = Field(
        "gpu-pool",
        description="Work pool the deployment must run on (checked before launch).",
    )
    work_queue: str | None = Field(
        None, description="Work queue within the pool; None: the deployment's."
    )
    job_variables: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        description="Work-pool job variables for the run, e.g. cuda_visible_devices.",
    )
    gpu: str | None = Field(
        None,
        description="Catalogue GPU of the pool's workers, for the cost cap; None: "
        "price the cheapest plan that fits.",
    )


class ModalBackendConfig(StrictModel):
    """The Modal app in infra/modal_app.py, called by name."""

    app_name: str = Field("ragtune-training", description="Deployed Modal app name.")
    function_name: str = Field(
        "train_remote", description="Function in the app that runs one job."
    )
    volume_name: str = Field(
        "ragtune-training", description="Modal Volume for data, checkpoints, adapters."
    )
    gpu: str | None = Field(
        None,
        description="Catalogue GPU to rent (one of MODAL_GPU_NAMES); None: the "
        "cheapest Modal plan from the estimator.",
    )
    timeout_s: int = Field(
        86400, ge=60, le=86400, description="Function timeout (Modal allows 24 h)."
    )
    token_id_env: str = Field(
        "MODAL_TOKEN_ID", description="Environment variable holding the token id."
    )
    token_secret_env: str = Field(
        "MODAL_TOKEN_SECRET",
        description="Environment variable holding the token secret.",
    )
    token_id_block: str | None = Field(
        None, description="Prefect Secret block with the token id (instead of env)."
    )
    token_secret_block: str | None = Field(
        None, description="Prefect Secret block with the token secret."
    )

    @field_validator("gpu")
    @classmethod
    def _modal_gpu(cls, value: str | None) -> str | None:
        if value is not None and value not in MODAL_GPU_NAMES:
            known = ", ".join(MODAL_GPU_NAMES)
            raise ValueError(f"{value!r} is not a Modal GPU; choose from {known}")
        return value


class RunPodBackendConfig(StrictModel):
    """A RunPod serverless endpoint running infra/runpod/handler.py."""

    api_base: str = Field(
        "https://api.runpod.ai/v2", description="Serverless API base URL."
    )
    endpoint_id_env: str = Field(
        "RUNPOD_ENDPOINT_ID", description="Environment variable with the endpoint id."
    )
    api_key_env: str = Field(
        "RUNPOD_API_KEY", description="Environment variable holding the API key."
    )
    api_key_block: str | None = Field(
        None, description="Prefect Secret block with the API key (instead of env)."
    )
    gpu: str = Field(
        "A100-80GB",
        description="Catalogue GPU the endpoint was created with (RunPod fixes it "
        "per endpoint), for the cost cap.",
    )
    volume_root: str | None = Field(
        None,
        description="Network volume path on the workers (e.g. /runpod-volume/"
        "ragtune); adapters over the inline limit are left there.",
    )
    max_payload_mb: float = Field(
        9.0, gt=0, le=10, description="Largest /run request (RunPod accepts 10 MB)."
    )
    inline_adapter_mb: float = Field(
        8.0,
        gt=0,
        description="Largest adapter returned inline as a base64 tarball.",
    )
    request_timeout_s: float = Field(30.0, gt=0, description="HTTP timeout.")
    execution_timeout_s: int = Field(
        86400, ge=60, description="Job execution limit sent as RunPod's policy."
    )


class BackendConfig(StrictModel):
    """Which GPU backend trains, and the cap every launch is checked against."""

    default: BackendName = Field("local", description="Backend when none is given.")
    work_dir: Path = Field(
        Path(".ragtune/backends"),
        description="Job handles, logs and downloads, one folder per job.",
    )
    poll_interval_s: float = Field(
        30.0, gt=0, description="Seconds between status polls while waiting."
    )
    max_cost_usd: float | None = Field(
        50.0,
        gt=0,
        description="Refuse a launch whose estimated GPU hours x price exceeds this "
        "(the framework's QLoRA 7B run is $5-40); None: no cost cap.",
    )
    max_gpu_hours: float | None = Field(
        24.0, gt=0, description="Refuse a launch estimated above this; None: no cap."
    )
    local: LocalBackendConfig = Field(default_factory=LocalBackendConfig)
    prefect: PrefectBackendConfig = Field(default_factory=PrefectBackendConfig)
    modal: ModalBackendConfig = Field(default_factory=ModalBackendConfig)
    runpod: RunPodBackendConfig = Field(default_factory=RunPodBackendConfig)
