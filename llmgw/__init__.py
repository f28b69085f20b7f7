"""llmgw: keep a LiteLLM gateway on Kubernetes in step with the models that really run."""

__version__ = "0.1.0"
