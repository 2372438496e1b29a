"""The tests' tiny models: the package's own builder (`deepmath train --smoke-cpu` uses it too)."""

from deepmath_ext.cpu_smoke.tiny_model import CHAT_END, build_tiny_qwen2, stop_token_ids

__all__ = ["CHAT_END", "build_tiny_qwen2", "stop_token_ids"]
