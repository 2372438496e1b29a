"""The evaluator: generate with vllm/openai/hf, grade with the shared verifier, score with intervals."""
