"""``lookout.yaml``: the model, loading with line numbers, and its JSON Schema."""

from lookout.config.loader import ConfigError, load_config, parse_config
from lookout.config.model import Config, Priority, Target, Tenant, Transport

__all__ = ["Config", "ConfigError", "Priority", "Target", "Tenant", "Transport", "load_config", "parse_config"]
