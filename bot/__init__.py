"""mlops-bot: a community bot for people learning MLOps."""

__version__ = "0.1.0"
