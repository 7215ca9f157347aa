"""Settings from environment variables (prefix ``APP_``) and an optional ``.env`` file.

Relative paths are resolved from the working directory, which is the project root for every
``make`` target. ``uv run <package> settings --schema`` prints every setting with its description.
"""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the project finds its contract and data."""

    model_config = SettingsConfigDict(
        env_prefix="APP_", env_file=".env", extra="ignore", frozen=True, strict=True
    )

    contract_path: Path = Field(
        default=Path("contract/data_contract.yaml"),
        description="The data contract: features, types, ranges, target and id column.",
    )
    sample_data_dir: Path = Field(
        default=Path("data/sample"),
        description="Sample data shipped with the project: train, holdout and edge cases.",
    )
